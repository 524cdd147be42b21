"""The connectivity checks of mindzie's Python client (its ``ping`` controller), at ``/api/ping/...``.

* ``GET ping``: checks the credentials; ``GET unauthorizedping``: needs none (and ignores bad ones).
* ``GET pingwithtenantidpathparam/{tenantId}``, ``GET pingwithprojectidpathparam/{projectId}``:
  the credentials must reach that tenant or project (else 404, as for a missing one).
* ``GET pingwithbodyparam`` and ``GET pingwithpathandbodyparam/{id}`` with a JSON body
  ``{"id": int, "name": str}``; ``POST pingwithfileparam`` (a ``file``),
  ``POST pingwithmultipleformparams`` and ``POST pingwithpathandmultipleformparams/{id}`` (form
  fields ``id`` and ``name`` and a ``file``): each answers what it received.
* ``GET ping-exception`` fails on purpose, with 501, for a client to test how it handles a server
  error (a 501 is not retried by the client, so the test does not wait through retries).

Every answer is ``{"data": "Ping Successful", ...}``: the client returns ``data``.

mindzie-api 2.0.0 sends its uploads as multipart form data labelled ``Content-Type:
application/json``: it drops the header from its own copy of the headers, but requests merges its
session's ``application/json`` back in. So the upload pings read a body that opens with a multipart
boundary as the form data it is, whatever its label says.
"""

from __future__ import annotations

import io
import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from accounts.models import Project
from config.parsers import FormParser, JSONParser, MultiPartParser
from records.api.mindzie import (
    PING_ANSWER,
    UNAUTHORIZED,
    MindzieError,
    MindzieErrorSerializer,
    MindziePingSerializer,
    MindziePingView,
    MindzieUnauthorizedPingView,
    MindzieView,
    parse_guid,
    ping_schema,
)

PING_EXCEPTION = ("Ping exception: this endpoint fails on purpose, so that a client can test how it handles a "
                  "server error.")


# A ping's upload is a connectivity test; this is plenty, and bounds what is read into memory.
MAX_PING_BYTES = 1024 * 1024
# The first line of a multipart body: "--" and the boundary (RFC 2046: 1 to 70 characters).
MULTIPART_START = re.compile(rb"--([0-9A-Za-z'()+_,./:=?-]{1,70})\r\n")


class MislabelledMultipartParser(parsers.BaseParser):
    """An ``application/json`` body that is really multipart form data (see the module's note)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_PING_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_PING_BYTES:
            raise ParseError(f"A ping's body may be at most {MAX_PING_BYTES} bytes.")
        start = MULTIPART_START.match(body)
        if start is None:
            return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
        return MultiPartParser().parse(io.BytesIO(body), f"multipart/form-data; boundary={start.group(1).decode()}",
                                       parser_context)


UPLOAD_PARSERS = [MultiPartParser, FormParser, MislabelledMultipartParser]


class PingDataSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(max_length=200)


class PingFileSerializer(serializers.Serializer):
    file = serializers.FileField()


class PingFormSerializer(PingDataSerializer, PingFileSerializer):
    pass


class PingEchoSerializer(MindziePingSerializer):
    id = serializers.IntegerField(required=False, help_text="The id received (path or body).")
    name = serializers.CharField(required=False, help_text="The name received.")
    pathId = serializers.IntegerField(required=False, help_text="The id in the path.")
    fileName = serializers.CharField(required=False, help_text="The uploaded file's name.")
    fileSize = serializers.IntegerField(required=False, help_text="The uploaded file's size in bytes.")


ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Any whole number.")
BAD_INPUT = {400: OpenApiResponse(MindzieErrorSerializer, description="A missing or malformed field.")}
# A path id that is not a whole number matches no route: mindzie's 404 for a path it does not serve.
NO_SUCH_PATH = {404: OpenApiResponse(MindzieErrorSerializer, description="`No mindzie endpoint at ...`: the id in "
                                     "the path is not a whole number.")}


def _valid(serializer_class, data) -> dict:
    """The validated fields, or a 400 in mindzie's shape naming each problem."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        problems = "; ".join(f"{field}: {' '.join(str(m) for m in messages)}"
                             for field, messages in serializer.errors.items())
        raise MindzieError(400, {"error": f"Invalid ping: {problems}"})
    return serializer.validated_data


def _file(upload) -> dict:
    return {"fileName": upload.name, "fileSize": upload.size}


class MindzieServerPingView(MindziePingView):
    @ping_schema("mindzie_ping", "Ping", parameters=[], authenticated=True)
    def get(self, request):
        return super().get(request)


class MindzieServerUnauthorizedPingView(MindzieUnauthorizedPingView):
    @ping_schema("mindzie_unauthorized_ping", "Ping without credentials", parameters=[], authenticated=False)
    def get(self, request):
        return super().get(request)


class MindziePingTenantView(MindzieView):
    """A ping naming a tenant: the credentials' own."""

    serializer_class = PingEchoSerializer

    @extend_schema(operation_id="mindzie_ping_tenant", tags=["mindzie"], summary="Ping with a tenant id",
                   parameters=[OpenApiParameter("tenantId", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={200: PingEchoSerializer, 404: OpenApiResponse(
                       MindzieErrorSerializer, description="`Tenant not found`: not the token's tenant."),
                       **UNAUTHORIZED})
    def get(self, request, tenantId):
        return Response({"data": PING_ANSWER, "tenantId": str(self.get_tenant().id)})


class MindziePingProjectView(MindzieView):
    """A ping naming a project the credentials reach."""

    serializer_class = PingEchoSerializer

    @extend_schema(operation_id="mindzie_ping_project", tags=["mindzie"], summary="Ping with a project id",
                   parameters=[OpenApiParameter("projectId", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={200: PingEchoSerializer, 404: OpenApiResponse(
                       MindzieErrorSerializer, description="`Project not found`: not a project the token reaches."),
                       **UNAUTHORIZED})
    def get(self, request, projectId):
        project = Project.objects.for_caller(request.auth).filter(pk=parse_guid(projectId)).first()
        if project is None:
            raise MindzieError(404, {"error": "Project not found", "projectId": projectId})
        return Response({"data": PING_ANSWER, "tenantId": str(project.tenant_id), "projectId": str(project.id)})


class MindziePingBodyView(MindzieView):
    """A GET with a JSON body, answered with what it held."""

    serializer_class = PingEchoSerializer

    @extend_schema(operation_id="mindzie_ping_body", tags=["mindzie"], summary="Ping with a body",
                   request=PingDataSerializer, responses={200: PingEchoSerializer, **BAD_INPUT, **UNAUTHORIZED})
    def get(self, request):
        return Response({"data": PING_ANSWER, **_valid(PingDataSerializer, request.data)})


class MindziePingPathAndBodyView(MindzieView):
    serializer_class = PingEchoSerializer

    @extend_schema(operation_id="mindzie_ping_path_and_body", tags=["mindzie"], summary="Ping with a path and a body",
                   parameters=[ID_PARAM], request=PingDataSerializer,
                   responses={200: PingEchoSerializer, **BAD_INPUT, **UNAUTHORIZED, **NO_SUCH_PATH})
    def get(self, request, id):
        return Response({"data": PING_ANSWER, "pathId": int(id), **_valid(PingDataSerializer, request.data)})


class MindziePingFileView(MindzieView):
    serializer_class = PingEchoSerializer
    parser_classes = UPLOAD_PARSERS
    write_roles = MindzieView.read_roles  # a ping writes nothing

    @extend_schema(operation_id="mindzie_ping_file", tags=["mindzie"], summary="Ping with a file",
                   request={"multipart/form-data": PingFileSerializer},
                   responses={200: PingEchoSerializer, **BAD_INPUT, **UNAUTHORIZED})
    def post(self, request):
        return Response({"data": PING_ANSWER, **_file(_valid(PingFileSerializer, request.data)["file"])})


class MindziePingFormView(MindzieView):
    serializer_class = PingEchoSerializer
    parser_classes = UPLOAD_PARSERS
    write_roles = MindzieView.read_roles

    @extend_schema(operation_id="mindzie_ping_form", tags=["mindzie"], summary="Ping with form fields and a file",
                   request={"multipart/form-data": PingFormSerializer},
                   responses={200: PingEchoSerializer, **BAD_INPUT, **UNAUTHORIZED})
    def post(self, request):
        data = _valid(PingFormSerializer, request.data)
        return Response({"data": PING_ANSWER, "id": data["id"], "name": data["name"], **_file(data["file"])})


class MindziePingPathAndFormView(MindzieView):
    serializer_class = PingEchoSerializer
    parser_classes = UPLOAD_PARSERS
    write_roles = MindzieView.read_roles

    @extend_schema(operation_id="mindzie_ping_path_and_form", tags=["mindzie"],
                   summary="Ping with a path, form fields and a file", parameters=[ID_PARAM],
                   request={"multipart/form-data": PingFormSerializer},
                   responses={200: PingEchoSerializer, **BAD_INPUT, **UNAUTHORIZED, **NO_SUCH_PATH})
    def post(self, request, id):
        data = _valid(PingFormSerializer, request.data)
        return Response({"data": PING_ANSWER, "pathId": int(id), "id": data["id"], "name": data["name"],
                         **_file(data["file"])})


class MindziePingExceptionView(MindzieView):
    """Fails on purpose."""

    serializer_class = MindzieErrorSerializer

    @extend_schema(operation_id="mindzie_ping_exception", tags=["mindzie"], summary="Ping that fails on purpose",
                   responses={501: OpenApiResponse(MindzieErrorSerializer, description="Always."), **UNAUTHORIZED})
    def get(self, request):
        raise MindzieError(501, {"error": PING_EXCEPTION})
