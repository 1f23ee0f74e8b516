"""Bedrock model identifiers: which form a caller used, and the base model behind it.

Every runtime call names its model with one string, in one of these forms::

    anthropic.claude-3-5-sonnet-20240620-v1:0                         base id
    us.anthropic.claude-3-5-sonnet-20240620-v1:0                      system inference profile
    arn:aws:bedrock:us-east-1::foundation-model/<base id>             foundation-model ARN
    arn:aws:bedrock:us-east-1:<acct>:inference-profile/<geo>.<base>   inference-profile ARN
    arn:aws:bedrock:us-east-1:<acct>:application-inference-profile/<id>
    arn:aws:bedrock:us-east-1:<acct>:provisioned-model/<id>
    arn:aws:bedrock:us-east-1:<acct>:custom-model/<base id>/<id>
    arn:aws:bedrock:us-east-1:<acct>:custom-model-deployment/<id>
    arn:aws:bedrock:us-east-1:<acct>:imported-model/<id>
    arn:aws:bedrock:us-east-1:<acct>:default-prompt-router/<name>   (also prompt-router/)

Lifecycle is judged on the base model, so the parser reads the base id out of the string where the
string carries it. Where it does not (application profiles, provisioned throughput, deployments,
imported models, prompt routers), :attr:`ModelRef.needs_control_plane` says a control-plane lookup
is needed; this module never makes one. It does no I/O and never URL-encodes: botocore encodes the
id into the request path itself.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "KNOWN_GEO_PREFIXES",
    "PROVIDER_NAMES",
    "IdForm",
    "ModelRef",
    "arn_for_model",
    "base_model_id",
    "parse_model_id",
    "render_successor",
]

PROVIDER_NAMES: dict[str, str] = {
    "ai21": "AI21 Labs",
    "amazon": "Amazon",
    "anthropic": "Anthropic",
    "cohere": "Cohere",
    "deepseek": "DeepSeek",
    "google": "Google",
    "luma": "Luma AI",
    "meta": "Meta",
    "minimax": "MiniMax",
    "mistral": "Mistral AI",
    "nvidia": "NVIDIA",
    "openai": "OpenAI",
    "qwen": "Qwen",
    "stability": "Stability AI",
    "twelvelabs": "TwelveLabs",
    "writer": "Writer",
    "zai": "Z.AI",
}
"""Display names of model providers, by the provider part of a base id."""

KNOWN_GEO_PREFIXES: frozenset[str] = frozenset({"us", "eu", "apac", "us-gov", "global", "jp", "au"})
"""System inference profile prefixes AWS is known to use. Others still parse as profiles."""

_MAX_ID_LENGTH = 2048  # Bedrock's own limit on a model identifier

# Regular expressions as text: the re module compiles each on first use and keeps it (ids are
# parsed once each, through a cache), so importing the package compiles none.
_SEGMENT = r"[a-z0-9-]+"
# <provider>.<name> then optional ":<version>" parts, e.g. ":0" or ":0:200k".
_BASE_RE = rf"{_SEGMENT}\.{_SEGMENT}(?::{_SEGMENT})*"
# <geo>.<provider>.<name>[:...]: the geo is read first, the rest must be a base id.
_PROFILE_RE = rf"(?P<geo>{_SEGMENT})\.(?P<base>{_SEGMENT}\.{_SEGMENT}(?::{_SEGMENT})*)"
# <provider>.<name with dots>[:...] for a known provider ("openai.gpt-5.4-v1:0"): a base id, not a
# profile of geo "openai" (a provider is never a geo prefix).
_DOTTED_BASE_RE = rf"(?P<provider>{_SEGMENT})\.{_SEGMENT}(?:\.{_SEGMENT})+(?::{_SEGMENT})*"
# Four or more dot-separated names before any ':': still a profile, but the base is not readable.
_LONG_PROFILE_RE = rf"(?P<geo>{_SEGMENT})(?:\.{_SEGMENT}){{3,}}(?::{_SEGMENT})*"
_ARN_RE = (
    r"arn:(?P<partition>aws(?:-[a-z0-9]+)*):bedrock:(?P<region>[a-z0-9-]*):(?P<account>[0-9]*):"
    r"(?P<type>[a-z-]+)/(?P<rest>[A-Za-z0-9._:/-]+)"
)
_REGION_RE = r"[a-z0-9-]+"
_PARTITION_RE = r"aws(?:-[a-z0-9]+)*"


class IdForm(str, enum.Enum):
    """The form a model identifier was written in."""

    BASE = "base"
    PROFILE = "profile"
    FOUNDATION_MODEL_ARN = "foundation-model-arn"
    INFERENCE_PROFILE_ARN = "inference-profile-arn"
    APPLICATION_PROFILE_ARN = "application-inference-profile-arn"
    PROVISIONED_MODEL_ARN = "provisioned-model-arn"
    CUSTOM_MODEL_ARN = "custom-model-arn"
    CUSTOM_MODEL_DEPLOYMENT_ARN = "custom-model-deployment-arn"
    IMPORTED_MODEL_ARN = "imported-model-arn"
    PROMPT_ROUTER_ARN = "prompt-router-arn"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


_ARN_TYPES: dict[str, IdForm] = {
    "foundation-model": IdForm.FOUNDATION_MODEL_ARN,
    "inference-profile": IdForm.INFERENCE_PROFILE_ARN,
    "application-inference-profile": IdForm.APPLICATION_PROFILE_ARN,
    "provisioned-model": IdForm.PROVISIONED_MODEL_ARN,
    "custom-model": IdForm.CUSTOM_MODEL_ARN,
    "custom-model-deployment": IdForm.CUSTOM_MODEL_DEPLOYMENT_ARN,
    "imported-model": IdForm.IMPORTED_MODEL_ARN,
    "default-prompt-router": IdForm.PROMPT_ROUTER_ARN,
    "prompt-router": IdForm.PROMPT_ROUTER_ARN,
}


@dataclass(frozen=True, slots=True)
class ModelRef:
    """One parsed model identifier.

    ``base_id`` is set only when the string itself names the base model; ``resource_id`` is the
    part of an ARN after its resource type (for ``custom-model`` ARNs, ``<base id>/<id>``).
    Empty ARN fields (the account of a foundation-model ARN) are ``None``.
    """

    raw: str
    form: IdForm
    base_id: str | None
    geo: str | None = None
    partition: str | None = None
    region: str | None = None
    account: str | None = None
    resource_id: str | None = None

    @property
    def needs_control_plane(self) -> bool:
        """True when the base model can only be found with a control-plane call.

        That is every recognised form whose string does not carry the base id: application
        profiles, provisioned throughput, custom models without a readable base, deployments,
        imported models and prompt routers.
        """
        return self.form is not IdForm.UNKNOWN and self.base_id is None

    @property
    def profile_id(self) -> str | None:
        """``<geo>.<base id>`` for a system profile or an inference-profile ARN, else ``None``."""
        if self.geo is None or self.base_id is None:
            return None
        return f"{self.geo}.{self.base_id}"


def parse_model_id(value: str) -> ModelRef:
    """Parse a model identifier in any form Bedrock accepts.

    Never raises for a string: anything unrecognised comes back as :attr:`IdForm.UNKNOWN` with
    no base id. Raises ``TypeError`` for anything that is not a string. Results are cached.
    """
    if not isinstance(value, str):
        raise TypeError(f"a model id must be a str, not {type(value).__name__}")
    if len(value) > _MAX_ID_LENGTH:
        return ModelRef(raw=value, form=IdForm.UNKNOWN, base_id=None)
    return _parse(str.__str__(value))


def base_model_id(value: str) -> str | None:
    """The base model id named by ``value``, or ``None`` when the string does not carry it."""
    return parse_model_id(value).base_id


def arn_for_model(base_id: str, region: str, partition: str = "aws") -> str:
    """The foundation-model ARN of ``base_id`` in ``region``.

    Raises ``ValueError`` when ``base_id`` is not a base id, or ``region`` or ``partition`` is
    malformed.
    """
    if parse_model_id(base_id).form is not IdForm.BASE:
        raise ValueError(f"not a base model id: {base_id!r}")
    if not re.fullmatch(_REGION_RE, region):
        raise ValueError(f"not a region name: {region!r}")
    if not re.fullmatch(_PARTITION_RE, partition):
        raise ValueError(f"not an AWS partition: {partition!r}")
    return _foundation_arn(partition, region, "", base_id)


def render_successor(ref: ModelRef, successor: str) -> str:
    """Write ``successor`` in the same form the caller used for ``ref``.

    ``successor`` is a base id or a full identifier. A profile id or an ARN is returned as is.
    A base id is rendered as follows:

    * base id -> the successor's base id;
    * system profile -> the same geo prefix, ``<geo>.<successor>``;
    * foundation-model ARN -> same partition and region;
    * inference-profile ARN -> same partition, region, account and geo prefix;
    * any form whose base needs the control plane (application profile, provisioned throughput,
      custom model, deployment, imported model, prompt router) -> a foundation-model ARN in the
      ARN's partition and region, or the plain base id when no region is known. A provisioned
      throughput (or an application profile, ...) cannot be created on the caller's behalf, so a
      call that falls back goes on demand to the successor.

    Raises ``ValueError`` when ``successor`` is not a model id at all.
    """
    parsed = parse_model_id(successor)
    if parsed.form is IdForm.UNKNOWN:
        raise ValueError(f"successor is not a Bedrock model id: {successor!r}")
    if parsed.form is not IdForm.BASE:
        return successor
    base = parsed.raw
    form = ref.form
    if form is IdForm.BASE:
        return base
    if form is IdForm.PROFILE and ref.geo is not None:
        return f"{ref.geo}.{base}"
    if form is IdForm.FOUNDATION_MODEL_ARN and ref.partition is not None:
        return _foundation_arn(ref.partition, ref.region or "", ref.account or "", base)
    if form is IdForm.INFERENCE_PROFILE_ARN and ref.partition is not None and ref.geo is not None:
        return (
            f"arn:{ref.partition}:bedrock:{ref.region or ''}:{ref.account or ''}:"
            f"inference-profile/{ref.geo}.{base}"
        )
    if ref.partition is not None and ref.region is not None:
        return _foundation_arn(ref.partition, ref.region, "", base)
    return base


def _foundation_arn(partition: str, region: str, account: str, base_id: str) -> str:
    return f"arn:{partition}:bedrock:{region}:{account}:foundation-model/{base_id}"


@lru_cache(maxsize=4096)
def _parse(value: str) -> ModelRef:
    if value.startswith("arn:"):
        return _parse_arn(value)
    if re.fullmatch(_BASE_RE, value) or _dotted_base(value):
        return ModelRef(raw=value, form=IdForm.BASE, base_id=value)
    profile = _profile_parts(value)
    if profile is not None:
        geo, base = profile
        return ModelRef(raw=value, form=IdForm.PROFILE, base_id=base, geo=geo)
    return ModelRef(raw=value, form=IdForm.UNKNOWN, base_id=None)


def _dotted_base(value: str) -> bool:
    """Whether ``value`` is a known provider's base id whose model name holds dots."""
    match = re.fullmatch(_DOTTED_BASE_RE, value)
    return match is not None and match["provider"] in PROVIDER_NAMES


def _profile_parts(value: str) -> tuple[str, str | None] | None:
    """``(geo, base id)`` of a system profile id, the base ``None`` when unreadable."""
    match = re.fullmatch(_PROFILE_RE, value)
    if match is not None:
        return match["geo"], match["base"]
    match = re.fullmatch(_LONG_PROFILE_RE, value)
    if match is not None:
        geo = match["geo"]
        rest = value[len(geo) + 1 :]
        return geo, rest if _dotted_base(rest) else None
    return None


def _parse_arn(value: str) -> ModelRef:
    match = re.fullmatch(_ARN_RE, value)
    form = _ARN_TYPES.get(match["type"]) if match is not None else None
    if match is None or form is None:
        return ModelRef(raw=value, form=IdForm.UNKNOWN, base_id=None)
    rest: str = match["rest"]
    base_id: str | None = None
    geo: str | None = None
    if form is IdForm.FOUNDATION_MODEL_ARN:
        base_id = rest if re.fullmatch(_BASE_RE, rest) else None
    elif form is IdForm.INFERENCE_PROFILE_ARN:
        profile = _profile_parts(rest)
        if profile is not None:
            geo, base_id = profile
    elif form is IdForm.CUSTOM_MODEL_ARN:
        # custom-model/<base id>/<id>; "custom-model/imported/<id>" has no readable base.
        head, _, _ = rest.rpartition("/")
        base_id = head if re.fullmatch(_BASE_RE, head) else None
    return ModelRef(
        raw=value,
        form=form,
        base_id=base_id,
        geo=geo,
        partition=match["partition"],
        region=match["region"] or None,
        account=match["account"] or None,
        resource_id=rest,
    )
