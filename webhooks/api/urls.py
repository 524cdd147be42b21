from accounts.api.routers import OptionalSlashRouter
from webhooks.api.views import CallbackSecretViewSet, DeliveryViewSet, SubscriptionViewSet

router = OptionalSlashRouter()
router.register("webhooks", SubscriptionViewSet, basename="webhook")
router.register("webhook-deliveries", DeliveryViewSet, basename="webhook-delivery")
router.register("callback-secrets", CallbackSecretViewSet, basename="callback-secret")

urlpatterns = router.urls
