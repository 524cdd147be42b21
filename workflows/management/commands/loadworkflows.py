"""Load workflows kept as YAML or JSON files: ``manage.py loadworkflows PATH [--tenant SLUG] [--project SLUG]``.

A file holds one workflow (``name``, optional ``alias``, ``description``, ``integration_slug``,
``enabled``, ``tags`` and ``definition: {tasks: [...]}``). A workflow is matched by alias, else by
name, in the project; an unchanged file makes no new version, so loading is idempotent.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from accounts.models import Project, Tenant
from workflows import services
from workflows.models import Workflow

SUFFIXES = {".yaml", ".yml", ".json"}
ATTRIBUTES = ("description", "integration_slug", "enabled", "tags")


class Command(BaseCommand):
    help = "Create or update workflows from YAML/JSON files (a file or a folder of them)."
    kind = "workflow"  # what a file holds, for the messages

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .yaml/.yml/.json file, or a folder of them.")
        parser.add_argument("--tenant", help="Tenant slug (needed when there is more than one tenant).")
        parser.add_argument("--project", help="Project slug (needed when the tenant has more than one project).")

    def handle(self, *args, path, tenant=None, project=None, **options):
        target = self._project(tenant, project)
        root = Path(path)
        if not root.exists():
            raise CommandError(f"{path} does not exist.")
        files = sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES) if root.is_dir() else [root]
        if not files:
            raise CommandError(f"No .yaml, .yml or .json files in {path}.")
        failures = 0
        for file in files:
            try:
                outcome = self._load(file, target)
            except (ValueError, CommandError) as exc:
                failures += 1
                self.stderr.write(f"{file}: {exc}")
                continue
            except ValidationError as exc:
                failures += 1
                self.stderr.write(f"{file}: invalid {self.kind}:")
                for field, messages in (exc.detail.items() if isinstance(exc.detail, dict) else [("", exc.detail)]):
                    for message in messages if isinstance(messages, list) else [messages]:
                        self.stderr.write(f"  {field}: {message}")
                continue
            self.stdout.write(f"{file}: {outcome}")
        if failures:
            raise CommandError(f"{failures} file(s) could not be loaded.")

    def _project(self, tenant_slug, project_slug) -> Project:
        tenants = Tenant.objects.filter(slug=tenant_slug) if tenant_slug else Tenant.objects.all()
        tenants = list(tenants[:2])
        if len(tenants) != 1:
            raise CommandError("Name the tenant with --tenant SLUG." if tenants or not tenant_slug
                               else f"No tenant with slug {tenant_slug!r}.")
        projects = Project.objects.filter(tenant=tenants[0])
        if project_slug:
            projects = projects.filter(slug=project_slug)
        projects = list(projects[:2])
        if len(projects) != 1:
            raise CommandError("Name the project with --project SLUG." if projects
                               else f"No such project in tenant {tenants[0].slug!r}.")
        return projects[0]

    def _read(self, file: Path, required: str = "definition") -> dict:
        """The file's mapping, which has at least a ``name`` (and, as the message says, ``required``)."""
        text = file.read_text()
        try:
            data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot parse: {exc}") from exc
        if not isinstance(data, dict) or "name" not in data:
            raise ValueError(f"must be a mapping with at least `name` and `{required}`.")
        return data

    def _load(self, file: Path, project: Project) -> str:
        data = self._read(file)
        definition = data.get("definition") or {"tasks": data.get("tasks", [])}
        alias = data.get("alias")
        existing = (Workflow.objects.filter(project=project, alias=alias).first() if alias else
                    Workflow.objects.filter(project=project, name=data["name"]).first())
        attributes = {k: data[k] for k in ATTRIBUTES if k in data}
        if existing is None:
            workflow = services.create_workflow(project=project, name=data["name"], alias=alias,
                                                definition=definition, **attributes)
            return f"created {workflow.name!r} (v{workflow.current_version})"
        before = existing.current_version
        workflow = services.update_workflow(existing, name=data["name"], definition=definition, **attributes)
        if workflow.current_version == before:
            return f"unchanged {workflow.name!r} (v{before})"
        return f"updated {workflow.name!r} to v{workflow.current_version}"
