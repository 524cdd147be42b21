"""Native webhook endpoints: subscriptions (secret shown once, rotatable), deliveries (redeliver), callback secrets."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import OPERATOR_ROLES
from accounts.scoping import TenantScopedMixin
from config.errors import ErrorSerializer
from config.filters import TruthFilter
from webhooks import services
from webhooks.api.serializers import (
    CallbackSecretCreatedSerializer,
    CallbackSecretRequestSerializer,
    CallbackSecretSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
    SecretSerializer,
    SubscriptionSerializer,
    SubscriptionWithSecretSerializer,
)
from webhooks.models import EVENTS, CallbackSecret, Delivery, DeliveryStatus, Subscription
from workflows.services import default_project

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404)}
TAGS = ["webhooks"]
# Webhook settings name outside URLs (which may carry tokens): operators only, reading too.
ROLES = OPERATOR_ROLES


class SubscriptionFilter(django_filters.FilterSet):
    # django-filter's own boolean filter reads an unknown word as "no filter"; this one answers 400.
    enabled = TruthFilter()

    class Meta:
        model = Subscription
        fields = ["project", "enabled"]


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions", tags=TAGS,
                       responses={200: SubscriptionSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="Get a webhook subscription", tags=TAGS,
                           responses={200: SubscriptionSerializer, **ERRORS}),
    create=extend_schema(summary="Subscribe a URL to events (the answer shows the signing secret, once)", tags=TAGS,
                         responses={201: SubscriptionWithSecretSerializer, **ERRORS}),
    update=extend_schema(summary="Replace a webhook subscription", tags=TAGS,
                         responses={200: SubscriptionSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Change a webhook subscription", tags=TAGS,
                                 responses={200: SubscriptionSerializer, **ERRORS}),
    destroy=extend_schema(summary="Delete a webhook subscription and its deliveries", tags=TAGS,
                          responses={204: None, **ERRORS}),
)
class SubscriptionViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    queryset = Subscription.objects.filter(execution__isnull=True)
    serializer_class = SubscriptionSerializer
    read_roles = write_roles = ROLES
    filterset_class = SubscriptionFilter

    def get_object(self):
        subscription = services.get_subscription_for(self.request.auth, self.kwargs["pk"], self.get_queryset())
        self.check_object_permissions(self.request, subscription)
        return subscription

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project", None) or default_project(request.auth)
        subscription, secret = services.create_subscription(project=project, caller=request.auth, **data)
        subscription.secret = secret
        return Response(SubscriptionWithSecretSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k != "project"}
        serializer.instance = services.update_subscription(serializer.instance, **data)

    def perform_destroy(self, instance):
        services.delete_subscription(instance)

    @extend_schema(summary="Replace the signing secret (the new one is shown once; the old one keeps signing "
                   "for a grace period)", tags=TAGS, request=None, responses={200: SecretSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription = self.get_object()
        secret = services.rotate_subscription_secret(subscription)
        return Response(SecretSerializer({"secret": secret,
                                          "previous_secret_expires_at": subscription.previous_secret_expires_at}).data)

    @extend_schema(summary="A subscription's deliveries, newest first", tags=TAGS,
                   responses={200: DeliverySerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], filterset_class=None)
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        page = self.paginate_queryset(Delivery.objects.filter(subscription=subscription).select_related("subscription"))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @property
    def cursor_ordering(self):
        return ("-created_at", "-id")


class DeliveryFilter(django_filters.FilterSet):
    subscription = django_filters.UUIDFilter(field_name="subscription_id")
    execution = django_filters.UUIDFilter(field_name="execution_id")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event = django_filters.ChoiceFilter(choices=[(event, event) for event in EVENTS])

    class Meta:
        model = Delivery
        fields = ["subscription", "execution", "status", "event"]


@extend_schema_view(
    list=extend_schema(summary="List webhook deliveries (subscriptions' and callbacks')", tags=TAGS,
                       responses={200: DeliverySerializer(many=True), **ERRORS}),
    retrieve=extend_schema(summary="A webhook delivery with its payload and every attempt", tags=TAGS,
                           responses={200: DeliveryDetailSerializer, **ERRORS}),
)
class DeliveryViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Delivery.objects.select_related("subscription")
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    read_roles = write_roles = ROLES

    def get_serializer_class(self):
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.prefetch_related("attempt_rows") if self.action == "retrieve" else queryset

    def get_object(self):
        delivery = services.get_delivery_for(self.request.auth, self.kwargs["pk"], self.get_queryset())
        self.check_object_permissions(self.request, delivery)
        return delivery

    @extend_schema(summary="Send a delivery's event again, as a new delivery", tags=TAGS, request=None,
                   responses={202: DeliverySerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        again = services.redeliver(self.get_object())
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)

    @property
    def cursor_ordering(self):
        return ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(summary="List the projects' callback secrets (never the secrets themselves)", tags=TAGS,
                       responses={200: CallbackSecretSerializer(many=True), **ERRORS}),
)
class CallbackSecretViewSet(TenantScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = CallbackSecret.objects.all()
    serializer_class = CallbackSecretSerializer
    read_roles = write_roles = ROLES

    @extend_schema(summary="Create or rotate a project's callback secret (shown once), which signs the "
                   "start requests' callback_url deliveries", tags=TAGS, request=CallbackSecretRequestSerializer,
                   responses={201: CallbackSecretCreatedSerializer, **ERRORS})
    def create(self, request):
        serializer = CallbackSecretRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        project = serializer.validated_data.get("project") or default_project(request.auth)
        holder, secret = services.rotate_callback_secret(project)
        holder.secret = secret
        return Response(CallbackSecretCreatedSerializer(holder).data | {"secret": secret},
                        status=status.HTTP_201_CREATED)

    @property
    def cursor_ordering(self):
        return ("-created_at", "-project_id")
