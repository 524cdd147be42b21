"""Actions: named, permissioned operations that start an execution.

An action lives in a project. On records (Flowdash) it belongs to a workflow, is offered in some
of its stages, enforces requirements before it starts, and moves the record to its target stage
when its execution succeeds. Without a record (mindzie) it simply runs its steps in its project.

Every write to actions, and every start of one, goes through the functions here.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from rest_framework.exceptions import NotFound, ValidationError

from accounts.caller import Caller
from accounts.models import OPERATOR_ROLES, Membership, Project, Role
from accounts.scoping import get_for_caller
from config.values import parse_truth
from executions.models import Execution, ExecutionStatus, TaskRun, TaskRunStatus
from executions.services import check_idempotency_key, start_execution
from records.models import Action, ActionExecution, FieldDefinition, Record, RecordEvent, Stage
from records.services import (
    UNSET,
    RecordEventKind,
    _save_changes,
    actor_label,
    find_member,
    record_view,
    resolve_stage,
    user_label,
)
from workflows.models import Workflow
from workflows.services import check_definition
from workflows.templating import TemplateError, bare_expression, evaluate, expression_syntax_error

logger = logging.getLogger("flowgate.actions")

ACTION_NOT_FOUND = "Action not found."
SHORT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
REQUIREMENT_KEYS = ("required_fields", "checklist_complete", "must_be_assigned", "conditions", "user_confirmation")

# The requirement messages, worded as Flowdash words them.
REQUIRED_MESSAGE = "{name} is required"
CHECKLIST_MESSAGE = "Checklist must be completed"
ASSIGNED_MESSAGE = "Must be assigned"


class ActionRefused(Exception):
    """The action may not start now. ``errors`` lists every reason; nothing was created.

    ``reason`` says which check refused (a surface may answer differently per reason) and
    ``status_code`` is the natural HTTP status: 403 for permissions, 409 for a disabled workflow,
    422 for the rest.
    """

    DISABLED = "disabled"
    FORBIDDEN = "forbidden"
    UNKNOWN_PERFORMER = "unknown_performer"
    NOT_OFFERED = "not_offered"
    REQUIREMENTS = "requirements"
    NOT_RUNNABLE = "not_runnable"

    def __init__(self, errors: list[str], *, reason: str, status_code: int = 422) -> None:
        self.errors = errors
        self.reason = reason
        self.status_code = status_code
        super().__init__("; ".join(errors))


# -- access ----------------------------------------------------------------------------------------------
def get_action_for(caller: Caller | None, action_id: Any, queryset=None) -> Action:
    """The caller's action by UUID or by short id (``edHR10``); NotFound otherwise."""
    queryset = queryset if queryset is not None else Action.objects.all()
    raw = str(action_id or "").strip()
    try:
        pk = uuid.UUID(raw)
    except ValueError:
        pk = None
    if pk is not None:
        return get_for_caller(queryset, caller, ACTION_NOT_FOUND, pk=pk)
    if not SHORT_ID_PATTERN.match(raw):
        raise NotFound(ACTION_NOT_FOUND)
    return get_for_caller(queryset, caller, ACTION_NOT_FOUND, short_id=raw)


def offered_actions(record: Record):
    """The enabled actions of the record's workflow offered in its stage (an action without stages
    is offered in every stage), oldest first. Requirements are not checked here."""
    return (Action.objects.filter(workflow_id=record.workflow_id, enabled=True)
            .filter(Q(stages__isnull=True) | Q(stages=record.stage_id) if record.stage_id else Q(stages__isnull=True))
            .distinct().order_by("created_at", "id"))


def is_offered(action: Action, record: Record) -> bool:
    if action.workflow_id != record.workflow_id:
        return False
    stage_ids = set(action.stages.values_list("id", flat=True))
    return not stage_ids or record.stage_id in stage_ids


# -- permissions -------------------------------------------------------------------------------------------
def may_perform(action: Action, *, role: str | None, user=None) -> bool:
    """Whether a person with this role may perform the action.

    Admins always may; so may the users the action names. Otherwise the action's roles decide;
    without roles, an action that names users is for those users only, and one that names
    nobody is for the workflow role (and admins).
    """
    if role == Role.ADMIN:
        return True
    if user is not None and getattr(user, "pk", None) and action.allowed_users.filter(pk=user.pk).exists():
        return True
    if action.allowed_roles:
        return role in action.allowed_roles
    if action.allowed_users.exists():
        return False
    return role == Role.WORKFLOW


def check_caller(action: Action, caller: Caller) -> None:
    """Starting an action needs an operator role (admin, workflow) or one of the action's roles."""
    if caller.role in OPERATOR_ROLES or caller.role in (action.allowed_roles or []):
        return
    if caller.person is not None and action.allowed_users.filter(pk=caller.user_id).exists():
        return
    roles = sorted({*OPERATOR_ROLES, *(action.allowed_roles or [])})
    raise ActionRefused([f"Your role ({caller.role}) may not perform {action.name!r}; it needs one of: "
                         f"{', '.join(roles)}."], reason=ActionRefused.FORBIDDEN, status_code=403)


def resolve_performer(caller: Caller, identifier: str | None):
    """The tenant member named by ``performed_by`` (an email or username), or ActionRefused."""
    if identifier is None or str(identifier).strip() == "":
        return None
    try:
        user = find_member(caller.tenant_id, str(identifier))
    except LookupError as exc:
        raise ActionRefused([str(exc)], reason=ActionRefused.UNKNOWN_PERFORMER) from None
    if user is None:
        raise ActionRefused([f"No user with the email {identifier} in this account; performed_by must be the "
                             "email of a member."], reason=ActionRefused.UNKNOWN_PERFORMER)
    return user


def _member_role(tenant_id, user) -> str | None:
    return Membership.objects.filter(tenant_id=tenant_id, user_id=user.pk).values_list("role", flat=True).first()


# -- requirements ----------------------------------------------------------------------------------------
def requirement_context(record: Record | None) -> dict:
    return {"record": record_view(record)}


def check_requirements(action: Action, record: Record | None) -> list[str]:
    """Every unmet requirement of the action on the record, as messages (empty when it may run).

    Required fields are the workflow's required field definitions plus the action's own
    ``required_fields``; then the checklist, the assignee and the custom conditions, in that order.
    The user-confirmation requirement is for the UI and is not checked here.
    """
    spec = action.requirements or {}
    if record is None:
        messages = _unmet_without_record(action, spec)
    else:
        messages = _unmet_on_record(spec, record)
    return messages + _unmet_conditions(spec, requirement_context(record))


def _unmet_without_record(action: Action, spec: dict) -> list[str]:
    """Run without a task, an action whose requirements read a task's fields, checklist or assignee cannot pass."""
    if spec.get("required_fields") or spec.get("checklist_complete") or spec.get("must_be_assigned"):
        return [f"{action.name} needs a task: its requirements check a task's fields, checklist or assignee."]
    return []


def _unmet_on_record(spec: dict, record: Record) -> list[str]:
    required = list(FieldDefinition.objects.filter(workflow_id=record.workflow_id, required=True)
                    .order_by("position", "id").values_list("name", flat=True))
    required += [name for name in spec.get("required_fields") or [] if name not in required]
    messages = [REQUIRED_MESSAGE.format(name=name) for name in required if _is_empty((record.fields or {}).get(name))]
    if spec.get("checklist_complete") and not all(item.get("done") for item in record.checklist or []):
        messages.append(CHECKLIST_MESSAGE)
    if spec.get("must_be_assigned") and record.assignee_id is None:
        messages.append(ASSIGNED_MESSAGE)
    return messages


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _unmet_conditions(spec: dict, context: dict) -> list[str]:
    messages = []
    for condition in spec.get("conditions") or []:
        expression = bare_expression(str(condition.get("expression") or ""))
        try:
            met = bool(evaluate(expression, context))
        except TemplateError as exc:
            if exc.over_budget:
                # Too large or too slow to evaluate: say so, rather than that the record falls short.
                messages.append(f"Condition {expression!r} could not be evaluated: {exc.reason}")
                continue
            # A condition that cannot be evaluated (a blank field, say) is not met.
            met = False
        if not met:
            messages.append(condition.get("message") or f"Condition not met: {expression}")
    return messages


# -- performing ------------------------------------------------------------------------------------------
def perform_action(*, caller: Caller, action: Action, record: Record | None = None, performed_by=None,
                   input: dict | None = None, idempotency_key: str | None = None):
    """Check everything, then start the action's steps as an execution; returns ``(execution, created)``.

    Checks, in order: the caller may start it, the person performing it (``performed_by``, or the
    calling user) may perform it, it is enabled, it is offered in the record's stage, and every
    requirement is met (all unmet ones are listed). ActionRefused says why it may not start.
    With an Idempotency-Key already used for the same action and record, the first execution
    comes back with ``created`` False.
    """
    fingerprint = {"action": str(action.id), "record": str(record.id) if record is not None else None,
                   "input": input or {}}
    # Before the replay too: a caller who may not start the action gets no execution back either.
    check_caller(action, caller)
    if idempotency_key:
        check_idempotency_key(idempotency_key)  # before it is looked up
    if idempotency_key and Execution.objects.filter(tenant_id=action.tenant_id,
                                                    idempotency_key=idempotency_key).exists():
        # A repeated request gets the first execution back (or 422 when its body differs).
        return start_execution(caller=caller, project=action.project, definition=action.steps,
                               idempotency_key=idempotency_key,
                               fingerprint_payload=fingerprint)
    performer = _check_performer(action, caller, performed_by)
    if not action.enabled:
        raise ActionRefused([f"Action {action.name!r} is disabled."], reason=ActionRefused.DISABLED)
    with transaction.atomic():
        if record is not None:
            # Lock the record so the requirements checked are the ones the steps start from.
            record = Record.objects.select_for_update().get(pk=record.pk)
        _check_offered(action, record)
        workflow, steps = _check_runnable(action, record)
        execution, created = start_execution(
            caller=caller, project=action.project, workflow=workflow, definition=steps, input=input or {},
            performed_by=performer, idempotency_key=idempotency_key, fingerprint_payload=fingerprint,
            options=_report_options(action, input),
        )
        if created:
            _note_start(action, record, execution, actor=actor_label(caller, performer))
    return execution, created


def _check_performer(action: Action, caller: Caller, performed_by):
    """Who performs the action (``performed_by``, else the calling person, else nobody), once they may."""
    if performed_by is not None:
        performer, role = performed_by, _member_role(action.tenant_id, performed_by)
    elif caller.person is not None:
        performer, role = caller.user, caller.role
    else:
        return None
    if not may_perform(action, role=role, user=performer):
        raise ActionRefused([f"{user_label(performer)} may not perform {action.name!r}; ask an admin to allow "
                             "their role or add them to the action's users."],
                            reason=ActionRefused.FORBIDDEN, status_code=403)
    return performer


def _check_offered(action: Action, record: Record | None) -> None:
    """The action is offered in the record's stage; an action offered in stages needs a record."""
    if record is not None and not is_offered(action, record):
        stage = record.stage.name if record.stage_id else "no stage"
        raise ActionRefused([f"Action {action.name!r} is not available for task {record.unique_id} "
                             f"in its stage ({stage})."], reason=ActionRefused.NOT_OFFERED)
    if record is None and action.stages.exists():
        raise ActionRefused([f"Action {action.name!r} is offered in stages, so it runs on a task; "
                             "execute it on a task."], reason=ActionRefused.NOT_RUNNABLE)


def _check_runnable(action: Action, record: Record | None) -> tuple[Workflow | None, dict]:
    """The workflow and the steps the action runs, once its requirements are met and there is something to run."""
    unmet = check_requirements(action, record)
    if unmet:
        raise ActionRefused(unmet, reason=ActionRefused.REQUIREMENTS)
    steps = action.steps or {"tasks": []}
    if record is None and not steps.get("tasks"):
        raise ActionRefused([f"Action {action.name!r} has no steps to run."], reason=ActionRefused.NOT_RUNNABLE)
    workflow = record.workflow if record is not None else action.workflow
    if workflow is not None and not workflow.enabled:
        raise ActionRefused([f"Workflow {workflow.name!r} is disabled; enable it to run its actions."],
                            reason=ActionRefused.NOT_RUNNABLE, status_code=409)
    return workflow, steps


def _note_start(action: Action, record: Record | None, execution: Execution, *, actor: str) -> None:
    """Link the new execution to the action (and record), and write the start in the record's history."""
    ActionExecution.objects.create(execution=execution, action=action, record=record,
                                   created_at=execution.created_at)
    if record is not None:
        RecordEvent.objects.create(
            record=record, kind=RecordEventKind.ACTION, action=action, execution=execution, actor=actor,
            outcome="started", detail={"action": action.name, "stage": record.stage.name if record.stage_id else None},
        )


def _report_options(action: Action, input: dict | None) -> dict:
    """The start options of an action that reports to Port flow runs: a new run whose flowId is the action's id."""
    if not action.report_to_flow_runs:
        return {}
    flow_id = action.short_id.lower()
    return {"flow_run": {"run_id": f"{flow_id}-{uuid.uuid4().hex[:12]}", "flow_id": flow_id, "args": input or {},
                         "flow_type": "selfServiceAction"}}


def finish_action_execution(execution: Execution, **kwargs) -> None:
    """After an action's execution ends: on success move its record to the target stage; note the outcome.

    On failure (or cancellation) the record stays where it is. The receiver of the engine's
    ``execution_finished``, inside the transaction that ends the execution.
    """
    link = (ActionExecution.objects.filter(execution_id=execution.pk, record__isnull=False, action__isnull=False)
            .select_related("action__target_stage").first())
    if link is None:
        return
    record = Record.objects.select_for_update().filter(pk=link.record_id).first()
    if record is None:
        return
    action = link.action
    performer = execution.performed_by if execution.performed_by_id else None
    actor = user_label(performer) if performer is not None else execution.started_by_label
    detail: dict[str, Any] = {"action": action.name if action else None}
    if execution.status != ExecutionStatus.SUCCEEDED:
        detail["errors"] = failure_messages(execution)
    RecordEvent.objects.create(record=record, kind=RecordEventKind.ACTION, action=action, execution=execution,
                               actor=actor, outcome=execution.status, detail=detail)
    target = action.target_stage if action is not None else None
    if (execution.status == ExecutionStatus.SUCCEEDED and target is not None
            and target.workflow_id == record.workflow_id and record.stage_id != target.id):
        _save_changes(record, {"stage": target}, actor=actor, execution=execution, action_id=action.pk)


def failure_messages(execution, failed_task_messages: list[str] | None = None) -> list[str]:
    """What went wrong in a failed or cancelled execution, as the failing steps said it.

    The failed task runs' own messages (``foo is not a valid email``), in step order; else the
    execution's errors (a step that could never run); else a note that it was cancelled.
    A list of executions passes each one's ``failed_task_messages``, read for all in one query
    (``failed_task_messages_of``), instead of a query per execution.
    """
    if failed_task_messages is None:
        failed_task_messages = failed_task_messages_of([execution.pk]).get(execution.pk, [])
    messages = list(failed_task_messages)
    if not messages:
        messages = list(execution.errors or [])
    if not messages and execution.status == ExecutionStatus.CANCELLED:
        messages = ["The execution was cancelled."]
    return messages or ["The execution failed."]


def failed_task_messages_of(execution_ids) -> dict:
    """The failed task runs' messages of each execution, in step order: ``{execution_id: [message, ...]}``."""
    found: dict = {}
    rows = (TaskRun.objects.filter(execution_id__in=list(execution_ids), status=TaskRunStatus.FAILED)
            .exclude(message="").order_by("execution_id", "position", "name").values_list("execution_id", "message"))
    for execution_id, message in rows:
        found.setdefault(execution_id, []).append(message)
    return found


# -- writing actions ---------------------------------------------------------------------------------------
# The one place an action's attributes are checked: the native API hands the body's values over
# as sent, and the admin's form asks ``plan_action`` too, so both answer in the same words.
NAME_MAX_LENGTH = Action._meta.get_field("name").max_length
REQUIREMENTS_EXAMPLE = ('Requirements are an object like {"required_fields": ["Name"], "checklist_complete": true, '
                        '"must_be_assigned": true, "conditions": [{"expression": "...", "message": "..."}]}.')
CONDITION_EXAMPLE = 'Must be a list of {"expression": "...", "message": "..."} objects.'


def _problems_of_requirements(requirements: Any, field_names: list[str] | None) -> dict[str, list[str]]:
    """Every problem of a requirements object, keyed by its path (``requirements.conditions[0]``)."""
    if requirements in (None, ""):
        return {}
    if not isinstance(requirements, dict):
        return {"requirements": [REQUIREMENTS_EXAMPLE]}
    problems: dict[str, list[str]] = {}
    for key in requirements:
        if key not in REQUIREMENT_KEYS:
            problems.setdefault(f"requirements.{key}", []).append(
                f"Unknown requirement (allowed: {', '.join(REQUIREMENT_KEYS)}).")
    problems.update(_required_fields_problems(requirements.get("required_fields", []), field_names))
    for key in ("checklist_complete", "must_be_assigned", "user_confirmation"):
        # JSON's true or false: a requirement is stored as given, and "no" would read as true.
        if key in requirements and not isinstance(requirements[key], bool):
            problems.setdefault(f"requirements.{key}", []).append("Must be true or false.")
    problems.update(_conditions_problems(requirements.get("conditions", [])))
    return problems


def _required_fields_problems(fields: Any, field_names: list[str] | None) -> dict[str, list[str]]:
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return {"requirements.required_fields": ["Must be a list of field names."]}
    if field_names is None:
        return {}
    unknown = [f"{name!r} is not a field of the workflow (fields: {', '.join(field_names) or 'none'})."
               for name in fields if name not in field_names]
    return {"requirements.required_fields": unknown} if unknown else {}


def _conditions_problems(conditions: Any) -> dict[str, list[str]]:
    if not isinstance(conditions, list):
        return {"requirements.conditions": [CONDITION_EXAMPLE]}
    problems = {}
    for index, condition in enumerate(conditions):
        messages = _condition_problems(condition)
        if messages:
            problems[f"requirements.conditions[{index}]"] = messages
    return problems


def _condition_problems(condition: Any) -> list[str]:
    if not isinstance(condition, dict) or not isinstance(condition.get("expression"), str) \
            or not condition["expression"].strip():
        return ['Needs an "expression" over the task, like "record.fields.Name.startswith(\'Hon.\')".']
    messages = []
    if not isinstance(condition.get("message"), str) or not condition["message"].strip():
        messages.append('Needs a "message" to show when the condition fails.')
    unknown = set(condition) - {"expression", "message"}
    if unknown:
        messages.append(f"Unknown keys: {', '.join(sorted(unknown))} (allowed: expression, message).")
    syntax = expression_syntax_error(bare_expression(condition["expression"]))
    if syntax:
        messages.append(syntax)
    return messages


def _check_steps(steps: Any) -> dict:
    if steps in (None, {}, ""):
        return {"tasks": []}
    return check_definition(steps, prefix="steps")


def _resolve_users(tenant_id, users: Any) -> tuple[list, list[str]]:
    if users is None:
        return [], []
    if not isinstance(users, list | tuple):
        return [], ["Must be a list of usernames or emails."]
    found, problems = [], []
    for item in users:
        if getattr(item, "pk", None):
            found.append(item)
            continue
        try:
            user = find_member(tenant_id, str(item))
        except LookupError as exc:
            problems.append(str(exc))
            continue
        if user is None:
            problems.append(f"{item} is not a member of this account.")
        else:
            found.append(user)
    return found, problems


@dataclass
class ActionPlan:
    """What a write to an action stores: attribute values and M2M sets, checked; or every problem found."""

    project: Project
    workflow: Workflow | None
    values: dict[str, Any] = field(default_factory=dict)
    m2m: dict[str, list] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, key: str, *messages: str) -> None:
        self.problems.setdefault(key, []).extend(messages)


def _plan_name(plan: ActionPlan, name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        plan.refuse("name", "An action needs a name.")
    elif len(name.strip()) > NAME_MAX_LENGTH:
        plan.refuse("name", f"Use at most {NAME_MAX_LENGTH} characters (this name has {len(name.strip())}).")
    else:
        plan.values["name"] = name.strip()


def _plan_description(plan: ActionPlan, description: Any) -> None:
    if description is not None and not isinstance(description, str):
        plan.refuse("description", "Must be text.")
    else:
        plan.values["description"] = description or ""


def _plan_flag(key: str):
    def plan_flag(plan: ActionPlan, value: Any) -> None:
        truth = parse_truth(value)
        if truth is None:
            plan.refuse(key, "Must be true or false.")
        else:
            plan.values[key] = truth
    return plan_flag


def _plan_short_id(plan: ActionPlan, short_id: Any) -> None:
    if not short_id:
        return  # none given: a new action gets a random one, a changed one keeps its own
    if not SHORT_ID_PATTERN.match(str(short_id)):
        plan.refuse("short_id", "Use 1 to 16 letters, digits, _ or -, like edHR10.")
    else:
        plan.values["short_id"] = str(short_id)


def _resolve_stages(plan: ActionPlan, key: str, items: list) -> list[Stage] | None:
    """Stages of the plan's workflow from names, ids or Stages; None when they cannot be looked up."""
    if items and plan.workflow is None:
        plan.refuse(key, "Stages belong to a workflow: set the action's workflow first.")
        return None
    resolved = []
    for item in items:
        try:
            resolved.append(resolve_stage(plan.workflow, item))
        except ValueError as exc:
            plan.refuse(key, str(exc))
    return resolved


def _plan_stages(plan: ActionPlan, stages: Any) -> None:
    if stages is not None and not isinstance(stages, list | tuple):
        plan.refuse("stages", 'Must be a list of stage names, like ["New"]; an empty list offers it in every stage.')
        return
    resolved = _resolve_stages(plan, "stages", list(stages or []))
    if resolved is not None:
        plan.m2m["stages"] = resolved


def _plan_target_stage(plan: ActionPlan, stage: Any) -> None:
    resolved = _resolve_stages(plan, "target_stage", [] if stage in (None, "") else [stage])
    if resolved is not None:
        plan.values["target_stage"] = resolved[0] if resolved else None


def _plan_allowed_roles(plan: ActionPlan, roles: Any) -> None:
    roles = roles or []
    if not isinstance(roles, list | tuple) or any(role not in Role.values for role in roles):
        plan.refuse("allowed_roles", f"Must be a list of roles: {', '.join(Role.values)}.")
    else:
        plan.values["allowed_roles"] = list(dict.fromkeys(roles))


def _plan_allowed_users(plan: ActionPlan, users: Any) -> None:
    found, problems = _resolve_users(plan.project.tenant_id, users)
    if problems:
        plan.refuse("allowed_users", *problems)
    plan.m2m["allowed_users"] = found


def _plan_requirements(plan: ActionPlan, requirements: Any) -> None:
    field_names = (list(plan.workflow.field_definitions.values_list("name", flat=True))
                   if plan.workflow is not None else None)
    plan.problems.update(_problems_of_requirements(requirements, field_names))
    plan.values["requirements"] = requirements or {}


def _plan_steps(plan: ActionPlan, steps: Any) -> None:
    try:
        plan.values["steps"] = _check_steps(steps)
    except ValidationError as exc:
        plan.problems.update(exc.detail)


# Each attribute's check, in the order its problems are listed.
_ATTRIBUTE_PLANS = {
    "name": _plan_name,
    "description": _plan_description,
    "enabled": _plan_flag("enabled"),
    "report_to_flow_runs": _plan_flag("report_to_flow_runs"),
    "short_id": _plan_short_id,
    "stages": _plan_stages,
    "target_stage": _plan_target_stage,
    "allowed_roles": _plan_allowed_roles,
    "allowed_users": _plan_allowed_users,
    "requirements": _plan_requirements,
    "steps": _plan_steps,
}
ACTION_ATTRIBUTES = tuple(_ATTRIBUTE_PLANS)


def plan_action(*, project: Project, workflow: Workflow | None, changes: dict) -> ActionPlan:
    """Check changes to an action's attributes (see ``create_action``); ValidationError lists every problem.

    Only the attributes in ``changes`` are checked and planned. Stages are looked up in
    ``workflow``, users in the project's tenant.
    """
    unknown = set(changes) - set(_ATTRIBUTE_PLANS)
    if unknown:
        raise TypeError(f"Not attributes of an action: {', '.join(sorted(unknown))} "
                        f"(attributes: {', '.join(ACTION_ATTRIBUTES)}).")
    plan = ActionPlan(project=project, workflow=workflow)
    if workflow is not None and workflow.project_id != project.id:
        plan.refuse("workflow", "The workflow belongs to another project; pick a workflow of the action's project.")
    for key, plan_attribute in _ATTRIBUTE_PLANS.items():
        if key in changes:
            plan_attribute(plan, changes[key])
    if plan.problems:
        raise ValidationError(plan.problems)
    return plan


def _short_id_taken(tenant_id, short_id: str, exclude_pk=None) -> bool:
    """Short ids are unique in a tenant (another tenant's ids are neither visible nor in the way)."""
    clash = Action.objects.filter(tenant_id=tenant_id, short_id=short_id)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    return clash.exists()


@transaction.atomic
def create_action(*, project: Project, name: str, workflow: Workflow | None = None, **attributes) -> Action:
    """Create an action in a project (for a workflow's records when ``workflow`` is given).

    ``attributes``: description, enabled, short_id, stages (names or Stages), target_stage,
    allowed_roles, allowed_users (usernames, emails or users), requirements, steps (a workflow
    definition, ``{"tasks": [...]}``), report_to_flow_runs.
    """
    plan = plan_action(project=project, workflow=workflow, changes={"name": name, **attributes})
    values, m2m = plan.values, plan.m2m
    short_id = values.pop("short_id", None)
    if short_id is not None and _short_id_taken(project.tenant_id, short_id):
        raise ValidationError({"short_id": [f"The id {short_id!r} is taken; choose another or leave it out."]})
    action = Action(tenant_id=project.tenant_id, project=project, workflow=workflow, **values)
    if short_id is not None:
        action.short_id = short_id
    else:
        while _short_id_taken(project.tenant_id, action.short_id):  # 62**6 ids: a clash is rare, but possible
            action.short_id = Action._meta.get_field("short_id").default()
    action.save()
    for name, items in m2m.items():
        getattr(action, name).set(items)
    return action


@transaction.atomic
def update_action(action: Action, *, workflow: Any = UNSET, **changes) -> Action:
    """Change an action; only the given attributes change (see ``create_action``)."""
    locked = Action.objects.select_for_update().get(pk=action.pk)
    target_workflow = locked.workflow if workflow is UNSET else workflow
    if workflow is not UNSET and workflow != locked.workflow:
        # Stages of the old workflow cannot stay; the caller sends the new ones (or none).
        changes.setdefault("stages", [])
        changes.setdefault("target_stage", None)
    plan = plan_action(project=locked.project, workflow=target_workflow, changes=changes)
    values, m2m = plan.values, plan.m2m
    short_id = values.get("short_id")
    if short_id is not None and _short_id_taken(locked.tenant_id, short_id, exclude_pk=locked.pk):
        raise ValidationError({"short_id": [f"The id {short_id!r} is taken; choose another."]})
    if workflow is not UNSET:
        values["workflow"] = workflow
    for name, value in values.items():
        setattr(locked, name, value)
    if values:
        locked.save(update_fields=list(values))
    for name, items in m2m.items():
        getattr(locked, name).set(items)
    return locked


@transaction.atomic
def delete_action(action: Action) -> None:
    """Delete an action; its past executions stay (they lose the link)."""
    action.delete()
