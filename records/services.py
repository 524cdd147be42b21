"""Records (Flowdash's "tasks"), the stages they sit in and the fields they carry.

Every write to a record, a stage or a field definition goes through a function here: the native
API, the Flowdash surface, the admin, the ``update_record`` task type and the action services all
call them. Field values are validated against the workflow's field definitions; every change is
written to the record's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import NotFound, ValidationError

from accounts.caller import Caller
from accounts.models import Membership
from config.errors import Conflict
from config.values import parse_number
from executions.engine import Done, Fail
from records.models import ActionExecution, FieldDefinition, FieldType, Record, RecordEvent, Stage
from workflows.models import Workflow

RECORD_NOT_FOUND = "Task {unique_id} not found in this workflow."
STAGE_NOT_FOUND = "Stage not found in this workflow."
FIELD_NOT_FOUND = "Field not found in this workflow."
# Record values are rewritten in batches of this many rows when a field is renamed or deleted,
# so a big workflow never holds all its records in memory at once.
REWRITE_BATCH = 500

UNSET: Any = object()


class RecordEventKind:
    CREATED = "created"
    UPDATED = "updated"
    MOVED = "moved"
    ACTION = "action"


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# -- people -----------------------------------------------------------------------------------------------
def find_member(tenant_id, identifier: str):
    """The user of the tenant whose username or email (any case) is ``identifier``, or None.

    Raises LookupError when the email belongs to several members (use the username then).
    """
    identifier = str(identifier or "").strip()
    if not identifier:
        return None
    user_ids = Membership.objects.filter(tenant_id=tenant_id).values("user_id")
    users = get_user_model().objects.filter(pk__in=user_ids)
    exact = users.filter(username=identifier).first()
    if exact is not None:
        return exact
    matches = list(users.filter(email__iexact=identifier)[:2])
    if len(matches) > 1:
        raise LookupError(f"Several members have the email {identifier}; name the user by username instead.")
    return matches[0] if matches else None


def user_label(user) -> str | None:
    """How a person appears on the API: their email, or their username when they have none."""
    if user is None:
        return None
    return user.email or user.get_username()


def actor_label(caller: Caller | None, user=None) -> str:
    if user is not None:
        return user_label(user)
    return caller.label if caller is not None else "system"


# -- field values ---------------------------------------------------------------------------------------
_email = EmailValidator()


def _clean_text(definition: FieldDefinition, value: Any, tenant_id) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not valid text")
    return str(value)


def _clean_number(definition: FieldDefinition, value: Any, tenant_id) -> int | float:
    try:
        return parse_number(value)  # finite only: JSON has no NaN or infinity
    except ValueError:
        raise ValueError(f"{value} is not a valid number") from None


def _clean_date(definition: FieldDefinition, value: Any, tenant_id) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        parsed = parse_date(text) or (parse_datetime(text).date() if parse_datetime(text) else None)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"{value} is not a valid date (use YYYY-MM-DD)")
    return parsed.isoformat()


def _clean_email(definition: FieldDefinition, value: Any, tenant_id) -> str:
    text = str(value).strip()
    try:
        _email(text)
    except DjangoValidationError:
        raise ValueError(f"{value} is not a valid email") from None
    return text


def _clean_choice(definition: FieldDefinition, value: Any, tenant_id) -> str:
    choices = [str(c) for c in definition.choices or []]
    if str(value) not in choices:
        raise ValueError(f"{value} is not a valid choice (choose one of: {', '.join(choices) or 'none defined'})")
    return str(value)


def _clean_user(definition: FieldDefinition, value: Any, tenant_id) -> str:
    try:
        user = find_member(tenant_id, str(value))
    except LookupError as exc:
        raise ValueError(str(exc)) from None
    if user is None:
        raise ValueError(f"{value} is not a valid user (no member of this account has that username or email)")
    return user_label(user)


# The stored form of a value, per field type; each raises ValueError with a message naming the value.
_CLEANERS: dict[str, Callable[[FieldDefinition, Any, Any], Any]] = {
    FieldType.TEXT: _clean_text,
    FieldType.NUMBER: _clean_number,
    FieldType.DATE: _clean_date,
    FieldType.EMAIL: _clean_email,
    FieldType.CHOICE: _clean_choice,
    FieldType.USER: _clean_user,
}


def _clean_value(definition: FieldDefinition, value: Any, tenant_id) -> Any:
    """The stored form of one value (None for a blank one), or ValueError with a message that names the value."""
    if _is_blank(value):
        return None
    cleaner = _CLEANERS.get(definition.type)
    if cleaner is None:
        raise ValueError(f"field type {definition.type!r} is not supported")
    return cleaner(definition, value, tenant_id)


def clean_fields(workflow: Workflow, values: Any, definitions: Iterable[FieldDefinition] | None = None
                 ) -> tuple[dict, dict[str, list[str]]]:
    """Validate values against the workflow's field definitions.

    Returns ``(cleaned, problems)``: cleaned values keyed by field name, and messages keyed by
    field name (empty when all is well). Blank values clear the field (stored as null).
    """
    if not isinstance(values, dict):
        return {}, {"fields": ['Fields must be an object of field names and values, like {"Name": "Harry"}.']}
    by_name = {d.name: d for d in (definitions if definitions is not None else workflow.field_definitions.all())}
    cleaned: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, value in values.items():
        definition = by_name.get(name)
        if definition is None:
            known = ", ".join(by_name) or "none"
            problems.setdefault(name, []).append(f"Unknown field {name!r}; this workflow's fields are: {known}.")
            continue
        try:
            cleaned[name] = _clean_value(definition, value, workflow.tenant_id)
        except ValueError as exc:
            problems.setdefault(name, []).append(str(exc))
    return cleaned, problems


def clean_checklist(items: Any) -> tuple[list[dict], list[str]]:
    """A checklist from ``["name", ...]`` or ``[{"name", "done"}, ...]``; returns (items, problems)."""
    if not isinstance(items, list):
        return [], ['A checklist is a list of item names or {"name": "...", "done": false} objects.']
    cleaned: list[dict] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if isinstance(item, str):
            name, done = item, False
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            name, done = item["name"], item.get("done", False)
            if not isinstance(done, bool):
                problems.append(f"Item {index} ({name!r}): done must be true or false.")
                continue
        else:
            problems.append(f'Item {index} must be a name or an object like {{"name": "...", "done": false}}.')
            continue
        name = name.strip()
        if not name:
            problems.append(f"Item {index} needs a name.")
        elif name in seen:
            problems.append(f"Item {name!r} appears twice; checklist item names must be unique.")
        else:
            seen.add(name)
            cleaned.append({"name": name, "done": done})
    return cleaned, problems


def tick_checklist(checklist: list[dict], ticks: Any) -> tuple[list[dict], list[str]]:
    """Mark items done: ``ticks`` is a list of names (done) or ``{name: done}``."""
    if isinstance(ticks, list):
        wanted = {}
        for name in ticks:
            if not isinstance(name, str):
                return checklist, [f"Checklist items to tick are named by strings, not {name!r}."]
            wanted[name] = True
    elif isinstance(ticks, dict):
        wanted = ticks
        bad = [name for name, done in wanted.items() if not isinstance(done, bool)]
        if bad:
            return checklist, [f"Checklist item {bad[0]!r}: use true or false."]
    else:
        return checklist, ["checklist must be a list of item names or an object of {name: true|false}."]
    names = [item["name"] for item in checklist]
    unknown = [name for name in wanted if name not in names]
    if unknown:
        return checklist, [f"Checklist has no item {name!r} (items: {', '.join(names) or 'none'})." for name in unknown]
    return [{**item, "done": wanted.get(item["name"], item["done"])} for item in checklist], []


def resolve_stage(workflow: Workflow, stage: Any) -> Stage | None:
    """A stage of the workflow from a Stage, a name or an id; ValueError names the stages there are."""
    if stage is None or isinstance(stage, Stage) and stage.workflow_id == workflow.id:
        return stage
    stages = list(workflow.stages.all())
    for candidate in stages:
        if candidate.name == str(stage) or (isinstance(stage, int) and candidate.id == stage):
            return candidate
    names = ", ".join(s.name for s in stages) or "none"
    raise ValueError(f"Stage {getattr(stage, 'name', stage)!r} does not exist in workflow {workflow.name!r} "
                     f"(stages: {names}).")


def resolve_assignee(workflow: Workflow, assignee: Any):
    """A member of the workflow's tenant from a username or email (None unassigns)."""
    if assignee is None or assignee == "":
        return None
    if not isinstance(assignee, str):
        if getattr(assignee, "pk", None) and Membership.objects.filter(tenant_id=workflow.tenant_id,
                                                                        user_id=assignee.pk).exists():
            return assignee
        raise ValueError("Assignee must be a username or email.")
    try:
        user = find_member(workflow.tenant_id, assignee)
    except LookupError as exc:
        raise ValueError(str(exc)) from None
    if user is None:
        raise ValueError(f"{assignee} is not a member of this account; assign a username or email of a member.")
    return user


# -- what templates see ----------------------------------------------------------------------------------
def record_view(record: Record | None) -> dict | None:
    """A record as templates and outputs show it (``record.fields.Name``, ``record.stage``)."""
    if record is None:
        return None
    return {
        "id": str(record.id),
        "unique_id": record.unique_id,
        "fields": record.fields,
        "checklist": record.checklist,
        "stage": record.stage.name if record.stage_id else None,
        "assignee": record.assignee.get_username() if record.assignee_id else None,
        "assignee_email": record.assignee.email if record.assignee_id else None,
    }


def record_of_execution(execution) -> dict | None:
    """The ``record`` templates see in an execution started on a record (``executions.plugins``)."""
    link = (ActionExecution.objects.select_related("record__stage", "record__assignee")
            .filter(execution_id=execution.pk).first())
    return record_view(link.record) if link is not None else None


# -- access ----------------------------------------------------------------------------------------------
def get_record_for(caller: Caller | None, workflow: Workflow, unique_id: Any, queryset=None) -> Record:
    """The record with this per-workflow number in a workflow the caller reaches (or NotFound)."""
    queryset = queryset if queryset is not None else Record.objects.all()
    try:
        number = int(str(unique_id))
    except ValueError:
        raise NotFound(RECORD_NOT_FOUND.format(unique_id=unique_id)) from None
    record = queryset.for_caller(caller).filter(workflow=workflow, unique_id=number).first()
    if record is None:
        raise NotFound(RECORD_NOT_FOUND.format(unique_id=unique_id))
    record.workflow = workflow  # already in hand: spares the callers a query
    return record


# -- records ---------------------------------------------------------------------------------------------
def _plan_changes(record: Record, *, fields: Any = UNSET, checklist: Any = UNSET, assignee: Any = UNSET,
                  stage: Any = UNSET, replace_fields: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """What would change, and every problem found, keyed by the request field."""
    workflow = record.workflow
    changes: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    if fields is not UNSET and fields is not None:
        cleaned, field_problems = clean_fields(workflow, fields)
        for name, messages in field_problems.items():
            problems[f"fields.{name}" if name != "fields" else "fields"] = messages
        merged = dict(cleaned) if replace_fields else {**record.fields, **cleaned}
        if merged != record.fields:
            changes["fields"] = merged
    if checklist is not UNSET and checklist is not None:
        items, checklist_problems = clean_checklist(checklist)
        if checklist_problems:
            problems["checklist"] = checklist_problems
        elif items != record.checklist:
            changes["checklist"] = items
    if assignee is not UNSET:
        try:
            user = resolve_assignee(workflow, assignee)
        except ValueError as exc:
            problems["assignee"] = [str(exc)]
        else:
            if (user.pk if user else None) != record.assignee_id:
                changes["assignee"] = user
    if stage is not UNSET:
        try:
            new_stage = resolve_stage(workflow, stage)
        except ValueError as exc:
            problems["stage"] = [str(exc)]
        else:
            if (new_stage.pk if new_stage else None) != record.stage_id:
                changes["stage"] = new_stage
    return changes, problems


def _describe(name: str, value: Any) -> Any:
    if name == "assignee":
        return user_label(value)
    if name == "stage":
        return value.name if value is not None else None
    return value


def _save_changes(record: Record, changes: dict, *, actor: str, user=None, execution=None, action_id=None) -> Record:
    """Write planned changes and their history entries (inside the caller's transaction)."""
    if not changes:
        return record
    before = {name: _describe(name, getattr(record, name)) for name in changes}
    old_stage = record.stage if "stage" in changes else None
    for name, value in changes.items():
        setattr(record, name, value)
    record.updated_at = timezone.now()
    record.updated_by = user if getattr(user, "pk", None) else record.updated_by
    record.save(update_fields=[*changes, "updated_at", "updated_by"])
    other = {n: {"from": before[n], "to": _describe(n, v)} for n, v in changes.items() if n != "stage"}
    events = []
    if other:
        events.append(RecordEvent(record=record, kind=RecordEventKind.UPDATED, actor=actor, execution=execution,
                                  action_id=action_id, outcome="", detail={"changes": other}))
    if "stage" in changes:
        events.append(RecordEvent(record=record, kind=RecordEventKind.MOVED, actor=actor, execution=execution,
                                  action_id=action_id, outcome="", detail={
                                      "from": old_stage.name if old_stage else None,
                                      "to": record.stage.name if record.stage else None}))
    RecordEvent.objects.bulk_create(events)
    return record


def _raise_problems(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def create_record(*, workflow: Workflow, fields: dict | None = None, checklist: list | None = None,
                  assignee: Any = None, stage: Any = UNSET, unique_id: int | None = None,
                  caller: Caller | None = None, user=None) -> Record:
    """Add a record to a workflow, numbered after the workflow's highest number (or ``unique_id``).

    Without a stage the record starts in the workflow's first stage, if it has stages.
    """
    # Numbers are handed out under a lock on the workflow row, so two creations never collide.
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    draft = Record(tenant_id=locked.tenant_id, workflow=locked, fields={}, checklist=[])
    if stage is UNSET:
        stage = locked.stages.order_by("position", "id").first()
    changes, problems = _plan_changes(draft, fields=fields or {}, checklist=checklist or [], assignee=assignee,
                                      stage=stage)
    if unique_id is not None:
        if isinstance(unique_id, bool) or not isinstance(unique_id, int) or unique_id < 1:
            problems["unique_id"] = ["Must be a whole number, 1 or more."]
        elif Record.objects.filter(workflow=locked, unique_id=unique_id).exists():
            problems["unique_id"] = [f"Task {unique_id} already exists in this workflow; leave unique_id out "
                                     "to get the next free number."]
    _raise_problems(problems)
    if unique_id is None:
        unique_id = (Record.objects.filter(workflow=locked).aggregate(top=Max("unique_id"))["top"] or 0) + 1
    now = timezone.now()
    person = _person(user, caller)
    record = Record.objects.create(
        tenant_id=locked.tenant_id, workflow=locked, unique_id=unique_id,
        fields=changes.get("fields", {}), checklist=changes.get("checklist", []),
        assignee=changes.get("assignee"), stage=changes.get("stage"),
        created_by=person, updated_by=person, created_at=now, updated_at=now,
    )
    RecordEvent.objects.create(record=record, kind=RecordEventKind.CREATED, actor=actor_label(caller, person),
                               detail={"stage": record.stage.name if record.stage else None})
    return record


def _person(user, caller: Caller | None):
    """Who acts on a record: the given user if it is a person, else the person calling, else None."""
    if getattr(user, "pk", None):
        return user
    return caller.person if caller is not None else None


@transaction.atomic
def update_record(record: Record, *, fields: Any = UNSET, checklist: Any = UNSET, assignee: Any = UNSET,
                  stage: Any = UNSET, replace_fields: bool = False, caller: Caller | None = None, user=None,
                  execution=None, action=None) -> Record:
    """Change a record: merge field values (null clears one), replace its checklist, (un)assign it, move it.

    Raises ValidationError listing every problem; nothing changes then.
    """
    locked = Record.objects.select_for_update().get(pk=record.pk)
    locked.workflow = record.workflow  # a record never changes workflow; saves a query
    changes, problems = _plan_changes(locked, fields=fields, checklist=checklist, assignee=assignee, stage=stage,
                                      replace_fields=replace_fields)
    _raise_problems(problems)
    person = _person(user, caller)
    return _save_changes(locked, changes, actor=actor_label(caller, person), user=person, execution=execution,
                         action_id=action.pk if action is not None else None)


@transaction.atomic
def delete_record(record: Record) -> None:
    record.delete()


def record_events(record: Record):
    return RecordEvent.objects.filter(record=record).select_related("action")


# -- the update_record task type ------------------------------------------------------------------------
def apply_record_update(ctx):
    """Run an ``update_record`` task: set fields, tick checklist items, assign, move the record.

    Config keys: ``fields`` ({name: value}), ``checklist`` (names to tick, or {name: done}),
    ``assignee`` (username or email; null unassigns), ``stage`` (a stage name). Every problem is
    reported at once and nothing changes then; the failure is not retried (it would fail again).
    """
    config = ctx.config
    link = ActionExecution.objects.filter(execution=ctx.execution).values("record_id", "action_id").first()
    if link is None or link["record_id"] is None:
        return Fail("This execution has no record to update; run update_record from an action on a record.",
                    retryable=False)
    with transaction.atomic():
        record = Record.objects.select_for_update().get(pk=link["record_id"])
        record.workflow = Workflow.objects.get(pk=record.workflow_id)
        checklist: Any = UNSET
        messages: list[str] = []
        if config.get("checklist") is not None:
            checklist, tick_problems = tick_checklist(record.checklist, config["checklist"])
            messages.extend(tick_problems)
        changes, problems = _plan_changes(
            record, fields=config.get("fields", UNSET), checklist=checklist,
            assignee=config["assignee"] if "assignee" in config else UNSET,
            stage=config["stage"] if config.get("stage") not in (None, "") else UNSET,
        )
        for items in problems.values():
            messages.extend(items)  # each message names its field, value or stage
        if messages:
            return Fail("; ".join(str(m).rstrip(".") for m in messages), retryable=False)
        actor = f"execution:{ctx.execution.id}"
        _save_changes(record, changes, actor=actor, execution=ctx.execution, action_id=link["action_id"])
        changed = sorted(changes)
    ctx.log("info", f"Task {record.unique_id} updated: {', '.join(changed)}." if changed else
            f"Task {record.unique_id} already as requested; nothing changed.")
    record = Record.objects.select_related("stage", "assignee").get(pk=record.pk)
    return Done(output={"record": record_view(record), "changed": changed})


# -- stages ----------------------------------------------------------------------------------------------
def get_stage_for(workflow: Workflow, stage_id: Any) -> Stage:
    try:
        return workflow.stages.get(pk=int(str(stage_id)))
    except (Stage.DoesNotExist, ValueError):
        raise NotFound(STAGE_NOT_FOUND) from None


def _next_position(queryset) -> int:
    top = queryset.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def _check_name(queryset, name: Any, kind: str, exclude_pk=None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": [f"A {kind} needs a name."]})
    name = name.strip()
    clash = queryset.filter(name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": [f"This workflow already has a {kind} named {name!r}."]})
    return name


def check_stage_name(workflow_id, name: Any, stage_pk=None) -> str:
    """The stage name as stored (stripped); ValidationError when it is blank or another stage of the workflow has it."""
    return _check_name(Stage.objects.filter(workflow_id=workflow_id), name, "stage", stage_pk)


def check_field_name(workflow_id, name: Any, field_pk=None) -> str:
    """The field name as stored (stripped); ValidationError when it is blank or another field of the workflow has it."""
    return _check_name(FieldDefinition.objects.filter(workflow_id=workflow_id), name, "field", field_pk)


@transaction.atomic
def create_stage(*, workflow: Workflow, name: str, position: int | None = None) -> Stage:
    name = check_stage_name(workflow.pk, name)
    if position is None:
        position = _next_position(workflow.stages.all())
    return Stage.objects.create(workflow=workflow, name=name, position=position)


@transaction.atomic
def update_stage(stage: Stage, *, name: Any = UNSET, position: Any = UNSET) -> Stage:
    fields = []
    if name is not UNSET:
        stage.name = check_stage_name(stage.workflow_id, name, stage.pk)
        fields.append("name")
    if position is not UNSET:
        stage.position = position
        fields.append("position")
    if fields:
        stage.save(update_fields=fields)
    return stage


@transaction.atomic
def delete_stage(stage: Stage) -> None:
    """Delete an empty stage; a stage that holds records answers 409."""
    refusal = stage_refusal(stage)
    if refusal:
        raise Conflict(refusal)
    stage.delete()


def stage_refusal(stage: Stage) -> str | None:
    """Why the stage cannot be deleted now (it holds records), or None when it can."""
    held = Record.objects.filter(stage=stage).count()
    if not held:
        return None
    return f"Stage {stage.name!r} holds {held} task{'s' if held != 1 else ''}; move them to another stage first."


# -- field definitions -------------------------------------------------------------------------------
def get_field_for(workflow: Workflow, field_id: Any) -> FieldDefinition:
    try:
        return workflow.field_definitions.get(pk=int(str(field_id)))
    except (FieldDefinition.DoesNotExist, ValueError):
        raise NotFound(FIELD_NOT_FOUND) from None


def check_choices(kind: str, choices: Any) -> list:
    if kind != FieldType.CHOICE:
        if choices:
            raise ValidationError({"choices": ["Only choice fields have choices; leave choices empty."]})
        return []
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
        raise ValidationError({"choices": ['A choice field needs its choices: a list of strings, like ["Low", "High"].']})
    if len(set(choices)) != len(choices):
        raise ValidationError({"choices": ["Each choice may appear only once."]})
    return choices


def _rewrite_values(workflow: Workflow, old: str, new: str | None) -> None:
    """Rename (or, with ``new`` None, drop) a field's values on every record of the workflow.

    The rows are locked as they are read, as ``update_record`` locks them, so a record changed
    meanwhile is not overwritten with its older values.
    """
    queryset = (Record.objects.select_for_update().filter(workflow=workflow, fields__has_key=old)
                .only("id", "fields").order_by("id"))
    batch: list[Record] = []
    for record in queryset.iterator(chunk_size=REWRITE_BATCH):
        value = record.fields.pop(old)
        if new is not None:
            record.fields[new] = value
        batch.append(record)
        if len(batch) >= REWRITE_BATCH:
            Record.objects.bulk_update(batch, ["fields"])
            batch = []
    if batch:
        Record.objects.bulk_update(batch, ["fields"])


@transaction.atomic
def create_field(*, workflow: Workflow, name: str, type: str = FieldType.TEXT, required: bool = False,
                 choices: list | None = None, position: int | None = None) -> FieldDefinition:
    name = check_field_name(workflow.pk, name)
    if type not in FieldType.values:
        raise ValidationError({"type": [f"Use one of {', '.join(FieldType.values)}."]})
    choices = check_choices(type, choices)
    if position is None:
        position = _next_position(workflow.field_definitions.all())
    return FieldDefinition.objects.create(workflow=workflow, name=name, type=type, required=required,
                                          choices=choices, position=position)


@transaction.atomic
def update_field(definition: FieldDefinition, **changes) -> FieldDefinition:
    """Change a field definition; renaming it renames the values stored on the records too."""
    fields = []
    old_name = definition.name
    if "name" in changes:
        definition.name = check_field_name(definition.workflow_id, changes["name"], definition.pk)
        fields.append("name")
    if "type" in changes:
        if changes["type"] not in FieldType.values:
            raise ValidationError({"type": [f"Use one of {', '.join(FieldType.values)}."]})
        definition.type = changes["type"]
        fields.append("type")
    for name in ("required", "position"):
        if name in changes:
            setattr(definition, name, changes[name])
            fields.append(name)
    if "choices" in changes or "type" in changes:
        definition.choices = check_choices(definition.type, changes.get("choices", definition.choices))
        fields.append("choices")
    if fields:
        definition.save(update_fields=list(dict.fromkeys(fields)))
    if definition.name != old_name:
        _rewrite_values(definition.workflow, old_name, definition.name)
    return definition


@transaction.atomic
def delete_field(definition: FieldDefinition) -> None:
    """Delete a field definition and its values on the workflow's records."""
    _rewrite_values(definition.workflow, definition.name, None)
    definition.delete()
