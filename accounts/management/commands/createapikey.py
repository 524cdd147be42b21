"""``manage.py createapikey --tenant SLUG --role ROLE --name NAME``: a new API key, shown once."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services
from accounts.models import Project, Role, Tenant


class Command(BaseCommand):
    help = "Create an API key for a tenant (optionally bound to one project) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--role", required=True, choices=Role.values, help="What the key may do.")
        parser.add_argument("--name", required=True, help="A name saying who or what uses the key.")
        parser.add_argument("--project", help="A project slug: the key then reaches only that project.")
        parser.add_argument("--expires-days", type=int, help="Days until the key stops working (default: never).")
        parser.add_argument("--secret-only", action="store_true",
                            help="Print only the key, for scripts that capture it.")

    def handle(self, *args, tenant, role, name, project, expires_days, secret_only, **options):
        try:
            tenant_row = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            known = ", ".join(Tenant.objects.values_list("slug", flat=True)[:20]) or "none yet"
            raise CommandError(f"No tenant with slug {tenant!r} (tenants: {known}).") from None
        project_row = None
        if project:
            project_row = Project.objects.for_tenant(tenant_row).filter(slug=project).first()
            if project_row is None:
                known = ", ".join(Project.objects.for_tenant(tenant_row).values_list("slug", flat=True)[:20])
                raise CommandError(f"Tenant {tenant!r} has no project {project!r} (projects: {known or 'none'}).")
        expires_at = None
        if expires_days is not None:
            if expires_days < 1:
                raise CommandError("--expires-days must be 1 or more (leave it out for a key that never expires).")
            expires_at = timezone.now() + timedelta(days=expires_days)

        key, secret = services.create_api_key(tenant_row, name, role, project=project_row, expires_at=expires_at)
        if secret_only:
            self.stdout.write(secret)
            return
        reach = f"project {project_row.slug}" if project_row else "the whole tenant"
        expiry = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "never expires"
        self.stdout.write(f"Created API key {key.name!r} for tenant {tenant_row.slug} ({key.role}, {reach}, {expiry}).")
        self.stdout.write("The key is shown only this once; store it now:")
        self.stdout.write(f"\n    {secret}\n")
