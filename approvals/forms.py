"""The forms of the approvers' pages: the decision (a comment plus the approval's own fields), the inbox's filters."""

from __future__ import annotations

import re

from django import forms

from approvals.models import Approval

FIELD_PREFIX = "form_"


def humanize(name: str) -> str:
    """A field name as words: ``cost_center`` and ``costCenter`` read "Cost center"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:] if text else name


class DecisionForm(forms.Form):
    """Shapes and shows the fields; the rules (required, types) are ``services.clean_form_values``'s."""

    comment = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, approval: Approval, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.approval = approval
        self.fields["comment"].label = "Comment (required)" if approval.require_comment else "Comment (optional)"
        for item in approval.form:
            # A field without a label of its own stores its name as the label: show it as words.
            label = item["label"] if item["label"] != item["name"] else humanize(item["name"])
            label += " (required to approve)" if item["required"] else ""
            if item["type"] == "boolean":
                field = forms.BooleanField(required=False)
            elif item["type"] == "choice":
                field = forms.ChoiceField(required=False, choices=[("", "---")] + [(c, c) for c in item["choices"]])
            elif item["type"] == "number":
                field = forms.CharField(required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
            else:
                field = forms.CharField(required=False, max_length=10000)
            field.label = label
            field.help_text = item.get("help", "")
            self.fields[FIELD_PREFIX + item["name"]] = field

    def describe_errors(self) -> None:
        """Point each invalid field at its error message (and help) for screen readers."""
        for name, field in self.fields.items():
            if name not in self.errors:
                continue
            bound = self[name]
            described = [f"{bound.auto_id}-error"] + ([f"{bound.auto_id}_helptext"] if field.help_text else [])
            field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": " ".join(described)})

    def form_values(self) -> dict:
        return {item["name"]: self.cleaned_data.get(FIELD_PREFIX + item["name"]) for item in self.approval.form}

    def add_service_errors(self, detail) -> None:
        """Put a ValidationError from decide_approval on the fields it names."""
        if not isinstance(detail, dict):
            self.add_error(None, [str(message) for message in detail] if isinstance(detail, list) else str(detail))
            return
        for key, messages in detail.items():
            if key == "form_values" and isinstance(messages, dict):
                for name, field_messages in messages.items():
                    target = FIELD_PREFIX + name if FIELD_PREFIX + name in self.fields else None
                    for message in field_messages:
                        self.add_error(target, f"{name}: {message}" if target is None else str(message))
            else:
                target = key if key in self.fields else None
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target, str(message))


class InboxFilterForm(forms.Form):
    """The inbox's search, workflow filter and sort order (all from the query string)."""

    q = forms.CharField(required=False, max_length=200, label="Search",
                        help_text="Workflow name, approval title or execution id")
    workflow = forms.UUIDField(required=False, label="Workflow")
    sort = forms.ChoiceField(required=False, label="Sort", choices=[
        ("newest", "Newest first"), ("oldest", "Oldest first"), ("expiring", "Expiring soonest")])
