"""The governed operations, and every fact the call path needs about each, in one table."""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["GOVERNED_OPERATIONS", "OPERATIONS", "STREAM_KEYS", "Operation"]

Request = Literal["converse", "body", "model_input", "count"]


class Operation(NamedTuple):
    """One governed ``bedrock-runtime`` operation (a named tuple: a dataclass would cost every
    import a millisecond)."""

    name: str
    """The API name, e.g. ``"ConverseStream"``."""
    method: str
    """The boto3 client method, e.g. ``"converse_stream"``."""
    request: Request
    """Where the inference parameters sit: Converse's ``inferenceConfig`` and
    ``additionalModelRequestFields``, a provider-format ``body``, StartAsyncInvoke's
    ``modelInput``, or CountTokens' ``input`` (either of the first two shapes)."""
    stream_key: str | None = None
    """Where the event stream sits in the response (``None``: not a stream)."""
    recorded: bool = False
    """Billed per token, so each call is recorded in the ledger."""

    @property
    def provider_body(self) -> bool:
        """Whether the request is written in one provider's own format."""
        return self.request in ("body", "model_input")


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("Converse", "converse", "converse", recorded=True),
        Operation("ConverseStream", "converse_stream", "converse", "stream", recorded=True),
        Operation("InvokeModel", "invoke_model", "body", recorded=True),
        Operation(
            "InvokeModelWithResponseStream",
            "invoke_model_with_response_stream",
            "body",
            "body",
            recorded=True,
        ),
        Operation("CountTokens", "count_tokens", "count"),
        Operation("StartAsyncInvoke", "start_async_invoke", "model_input"),
    )
}

GOVERNED_OPERATIONS = frozenset(OPERATIONS)

STREAM_KEYS = {op.name: op.stream_key for op in OPERATIONS.values() if op.stream_key is not None}
"""Where each streaming operation's event stream sits in the response."""
