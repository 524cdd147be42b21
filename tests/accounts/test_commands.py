"""createapikey and bootstrap_demo."""

from __future__ import annotations

import re
import subprocess
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Membership, Project, Tenant
from records.models import Action
from tests.support.clients import APIClient

pytestmark = pytest.mark.django_db
KEY_PATTERN = re.compile(r"fg_[0-9a-f]{8}_[A-Za-z0-9_-]+")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_creates_a_key_and_prints_it_once(tenant_a, project_a):
    output = run("createapikey", "--tenant", "acme", "--role", "workflow", "--name", "ci", "--project", "main",
                 "--expires-days", "30")
    secrets = KEY_PATTERN.findall(output)
    assert len(secrets) == 1
    key = ApiKey.objects.get(name="ci")
    assert (key.role, key.project_id, key.expires_at is not None) == ("workflow", project_a.id, True)
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secrets[0]}")
    assert response.json()["project"] == str(project_a.id)


def test_it_prints_only_the_key_for_scripts(tenant_a):
    output = run("createapikey", "--tenant", "acme", "--role", "viewer", "--name", "ro", "--secret-only")
    assert KEY_PATTERN.fullmatch(output.strip())


@pytest.mark.parametrize("args, message", [
    (["--tenant", "nope", "--role", "admin", "--name", "x"], "No tenant with slug 'nope'"),
    (["--tenant", "acme", "--role", "admin", "--name", "x", "--project", "nope"], "has no project 'nope'"),
    (["--tenant", "acme", "--role", "admin", "--name", "x", "--expires-days", "0"], "--expires-days"),
])
def test_it_explains_what_is_wrong(tenant_a, project_a, args, message):
    with pytest.raises(CommandError, match=message):
        run("createapikey", *args)


def test_it_bootstraps_the_demo_once(settings):
    settings.FLOWGATE_BASE_URL = "http://127.0.0.1:8123"
    first = run("bootstrap_demo", "--skip-workflows")
    secrets = KEY_PATTERN.findall(first)
    assert len(set(secrets)) == 1
    assert f'curl -H "Authorization: Bearer {secrets[0]}" http://127.0.0.1:8123/api/v1/workflows/' in first

    tenant = Tenant.objects.get(slug="demo")
    assert Project.objects.filter(tenant=tenant, slug="default").exists()
    admin = get_user_model().objects.get(username="admin")
    approver = get_user_model().objects.get(username="approver")
    assert admin.is_superuser and admin.is_staff
    assert approver.email == "approver@example.com" and not approver.is_staff
    assert Membership.objects.get(user=admin, tenant=tenant).role == "admin"
    assert Membership.objects.get(user=approver, tenant=tenant).role == "approver"
    passwords = re.findall(r"shown only this once\):\n\n    (\S+)", first)
    assert len(passwords) == 2
    assert admin.check_password(passwords[0]) and approver.check_password(passwords[1])
    body = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secrets[0]}").json()
    assert (body["tenant"]["slug"], body["role"]) == ("demo", "admin")

    second = run("bootstrap_demo", "--skip-workflows")
    assert not KEY_PATTERN.search(second)
    assert "shown when they were created" in second
    assert "createapikey --tenant demo --role admin" in second
    assert ApiKey.objects.filter(tenant=tenant).count() == 1
    assert get_user_model().objects.count() == 2


def test_it_loads_the_example_workflows_and_actions_when_it_can(monkeypatch):
    calls = []
    monkeypatch.setattr("accounts.management.commands.bootstrap_demo.get_commands",
                        lambda: {"loadworkflows": "workflows", "loadactions": "records"})
    monkeypatch.setattr("accounts.management.commands.bootstrap_demo.call_command",
                        lambda *args, **kwargs: calls.append(args))
    run("bootstrap_demo")
    assert [(name, folder.rsplit("/", 2)[-2:], rest) for name, folder, *rest in calls] == [
        ("loadworkflows", ["examples", "workflows"], ["--tenant", "demo", "--project", "default"]),
        ("loadactions", ["examples", "actions"], ["--tenant", "demo", "--project", "default"]),
    ]


def test_it_prints_what_mindzies_client_needs_for_the_demo_action(settings):
    settings.FLOWGATE_BASE_URL = "http://127.0.0.1:8123"
    first = run("bootstrap_demo", "--skip-workflows")
    tenant = Tenant.objects.get(slug="demo")
    project = Project.objects.get(tenant=tenant, slug="default")
    action = Action.objects.get(project=project, name="Refresh report")
    assert action.steps["tasks"][0]["name"] == "extract"
    settings_line = (f"export MINDZIE_TENANT_ID={tenant.id} MINDZIE_PROJECT_ID={project.id} "
                     f"MINDZIE_ACTION_ID={action.id}")
    assert settings_line in first
    assert 'export MINDZIE_API_URL=http://127.0.0.1:8123 MINDZIE_API_KEY="$FLOWGATE_KEY"' in first
    # Every export line, pasted into a shell as printed, gives mindzie's client the demo key.
    exports = [line.strip() for line in first.splitlines() if line.strip().startswith("export ")]
    shell = subprocess.run(["bash", "-ec", "\n".join([*exports, 'printf "%s %s" "$FLOWGATE_KEY" "$MINDZIE_API_KEY"'])],
                           capture_output=True, text=True, timeout=30)
    assert shell.returncode == 0, shell.stderr
    flowgate_key, mindzie_key = shell.stdout.split()
    assert flowgate_key.startswith("fg_") and mindzie_key == flowgate_key
    # A second run loads nothing new and prints the same ids (they are no secret).
    second = run("bootstrap_demo", "--skip-workflows")
    assert settings_line in second
    assert "unchanged action 'Refresh report'" in second
    assert Action.objects.filter(project=project).count() == 1
