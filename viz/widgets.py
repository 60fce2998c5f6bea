"""A text field that keeps what is being typed and applies it on Enter or when left.

Solara's ``InputText`` sends the browser's text to the server only on Enter or blur, and
every re-render of the page writes the server's (older) text back into the field: a
re-render caused by another control (or by a comparison's progress) could wipe what someone
was typing. Here the text is sent at each keystroke into the field's own draft, so a
re-render writes back exactly what is in the box; only Enter or leaving the field applies it.
"""

from __future__ import annotations

from collections.abc import Callable

import reacton.ipyvuetify as v
import solara


@solara.component
def TextControl(
    label: str,
    text: str,
    on_commit: Callable[[str], None],
    error: str | None = None,
    hint: str = "",
    classes: list[str] | None = None,
):
    """A labelled text field; ``error`` shows in red under it, else ``hint``."""
    draft = solara.use_reactive(text)  # follows ``text`` when it changes from outside

    def commit(*_ignored) -> None:
        if draft.value != text:
            on_commit(draft.value)

    field = v.TextField(
        label=label,
        v_model=draft.value,
        on_v_model=draft.set,
        error=bool(error),
        messages=[error] if error else ([hint] if hint else []),
        dense=True,
        hide_details="auto",
        class_=" ".join(["lf-input", *(classes or [])]),
    )
    v.use_event(field, "keyup.enter", commit)
    v.use_event(field, "blur", commit)
    return field
