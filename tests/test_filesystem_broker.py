"""The embedded default's filesystem broker never shows a worker a half-written message."""

from queue import Empty

import pytest
from kombu import Connection
from kombu.transport import resolve_transport

from config import broker


@pytest.fixture
def connection(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "processed_folder": str(tmp_path), "control_folder": str(tmp_path)}
    with Connection("filesystem://", transport_options=options) as conn:
        yield conn, folder


def test_filesystem_urls_use_the_atomic_transport():
    assert resolve_transport("filesystem") is broker.Transport


def test_a_message_goes_through_the_folder(connection):
    conn, folder = connection
    queue = conn.SimpleQueue("flowgate")
    queue.put({"hello": "world"})
    assert [p.name.endswith(".flowgate.msg") for p in folder.iterdir()] == [True]
    message = queue.get(timeout=1)
    assert message.payload == {"hello": "world"}
    message.ack()
    queue.close()


def test_a_reader_polling_mid_write_sees_nothing_rather_than_a_partial_message(connection, monkeypatch):
    conn, folder = connection
    writer, reader = conn.channel(), conn.channel()
    seen = []
    real_replace = broker.os.replace

    def replace_after_a_poll(src, dst):
        # The message is written but not yet in place: a worker polling now must find no message.
        assert [p.name for p in folder.iterdir()] == [src.rsplit("/", 1)[-1]]
        try:
            seen.append(reader._get("flowgate"))
        except Empty:
            seen.append("empty")
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace_after_a_poll)
    writer._put("flowgate", {"body": "x" * 100_000})
    assert seen == ["empty"]
    assert reader._get("flowgate") == {"body": "x" * 100_000}
    assert list(folder.iterdir()) == []
