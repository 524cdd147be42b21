"""``manage.py bootstrap_demo``: a demo tenant, project, users, API key and action to try Flowgate with.

Idempotent: a second run creates nothing that exists and never prints a secret again. It loads the
example workflows (``examples/workflows``) and actions (``examples/actions``, among them the action
that mindzie's client runs in docs/mindzie.md), and prints the ids that client needs.
"""

from __future__ import annotations

import secrets
import shlex

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import ApiKey, Project, Role, Tenant
from records.models import Action

TENANT_SLUG = "demo"
PROJECT_SLUG = "default"
ADMIN_USERNAME = "admin"
APPROVER_USERNAME = "approver"
APPROVER_EMAIL = "approver@example.com"
KEY_NAME = "demo admin key"
EXAMPLES_DIR = "examples/workflows"
EXAMPLE_ACTIONS_DIR = "examples/actions"
# The example action that docs/mindzie.md runs with mindzie's Python client.
MINDZIE_ACTION = "Refresh report"


class Command(BaseCommand):
    help = "Create (once) the demo tenant, project, admin and approver users and an admin API key."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=None,
                            help="Where Flowgate is served, for the curl line (default: FLOWGATE_BASE_URL).")
        parser.add_argument("--skip-workflows", action="store_true", help="Do not load the example workflows.")

    def handle(self, *args, base_url=None, skip_workflows=False, **options):
        self._exported: dict[str, str] = {}
        base_url = (base_url or settings.FLOWGATE_BASE_URL).rstrip("/")
        shown: list[str] = []
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=TENANT_SLUG).first() or services.create_tenant("Demo", TENANT_SLUG)
            project = Project.objects.filter(tenant=tenant, slug=PROJECT_SLUG).first() or services.create_project(
                tenant, "Default", PROJECT_SLUG)
            shown += self._user(tenant, ADMIN_USERNAME, Role.ADMIN, email="admin@example.com", superuser=True)
            shown += self._user(tenant, APPROVER_USERNAME, Role.APPROVER, email=APPROVER_EMAIL)
            shown += self._key(tenant, base_url)

        # In a checkout manage.py; installed with pip, the flowgate command.
        manage = "python manage.py" if settings.SOURCE_TREE else "flowgate"
        if not shown:
            self.stdout.write(
                f"The demo tenant {TENANT_SLUG!r} is ready (project {PROJECT_SLUG!r}, users {ADMIN_USERNAME!r} and "
                f"{APPROVER_USERNAME!r}, key {KEY_NAME!r}). Its key and passwords were shown when they were created.\n"
                f"  New key:       {manage} createapikey --tenant {TENANT_SLUG} --role admin --name NAME\n"
                f"  New password:  {manage} changepassword {ADMIN_USERNAME}"
            )
        if shown:
            self._exports()
        if not skip_workflows:
            self._load_examples("loadworkflows", EXAMPLES_DIR)
        self._load_examples("loadactions", EXAMPLE_ACTIONS_DIR)
        self._mindzie(tenant, project, base_url)

    def _user(self, tenant, username: str, role: str, *, email: str, superuser: bool = False) -> list[str]:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None:
            services.add_member(tenant, user, role)
            return []
        password = secrets.token_urlsafe(12)
        services.create_user(username, password, email=email, tenant=tenant, role=role, is_superuser=superuser)
        self._exported[f"{username.upper()}_PASSWORD"] = password
        where = "/admin/ and /approvals/" if superuser else "/approvals/"
        self.stdout.write(f"Created user {username!r} ({role} of {tenant.slug}); sign in at {where} with the password "
                          f"(shown only this once):\n\n    {password}\n")
        return [username]

    def _key(self, tenant, base_url: str) -> list[str]:
        if ApiKey.objects.for_tenant(tenant).usable().filter(name=KEY_NAME).exists():
            return []
        _, secret = services.create_api_key(tenant, KEY_NAME, Role.ADMIN)
        self._exported["FLOWGATE_KEY"] = secret
        self.stdout.write(
            f"Created API key {KEY_NAME!r} (admin of {tenant.slug}); it is shown only this once:\n\n"
            f"    {secret}\n\n"
            f"Try it:\n\n"
            f'    curl -H "Authorization: Bearer {secret}" {base_url}/api/v1/workflows/\n'
        )
        return [KEY_NAME]

    def _exports(self) -> None:
        """The new key and passwords as shell lines, named as README.md's commands use them."""
        lines = "".join(f"    export {name}={shlex.quote(value)}\n" for name, value in self._exported.items())
        self.stdout.write(f"Paste these lines into your shell for the commands in README.md:\n\n{lines}")

    def _load_examples(self, command: str, directory: str) -> None:
        folder = settings.BASE_DIR / directory
        if command not in get_commands() or not folder.is_dir():
            return
        call_command(command, str(folder), "--tenant", TENANT_SLUG, "--project", PROJECT_SLUG,
                     stdout=self.stdout, stderr=self.stderr)

    def _mindzie(self, tenant, project, base_url: str) -> None:
        """The settings mindzie's Python client reads, for the demo action (ids are no secret: every run)."""
        action = Action.objects.filter(project=project, name=MINDZIE_ACTION).first()
        if action is None:
            return
        self.stdout.write(
            f"\nmindzie's Python client (pip install mindzie-api) runs the demo action {action.name!r} with these "
            f"settings and the demo key (docs/mindzie.md; FLOWGATE_KEY as exported above):\n\n"
            f'    export MINDZIE_API_URL={base_url} MINDZIE_API_KEY="$FLOWGATE_KEY"\n'
            f"    export MINDZIE_TENANT_ID={tenant.id} MINDZIE_PROJECT_ID={project.id} MINDZIE_ACTION_ID={action.id}\n"
        )
