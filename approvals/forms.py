"""The decision form of the approvers' pages: a comment plus the approval's own form fields."""

from __future__ import annotations

from django import forms

from approvals.models import Approval

FIELD_PREFIX = "form_"


class DecisionForm(forms.Form):
    """Shapes and shows the fields; the rules (required, types) are ``services.clean_form_values``'s."""

    comment = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, approval: Approval, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.approval = approval
        self.fields["comment"].label = "Comment (required)" if approval.require_comment else "Comment (optional)"
        for item in approval.form:
            label = item["label"] + (" (required to approve)" if item["required"] else "")
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
