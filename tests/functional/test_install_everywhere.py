"""install() without a session: every bedrock-runtime client the process creates is governed.

The process-wide form wraps ``botocore.session.Session.create_client``; these tests drive real
boto3 and botocore sessions (the fake's, and plain ones pointed at its loopback endpoint) and
check what a new client gets, that a session's own install keeps precedence without doubling
the handlers, and that ``uninstall()`` puts botocore's own function back.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing.pytest_plugin import dummy_aws_environment

from ._world import EOL_AT, LEGACY_AT, NEW, OLD, World, call

POLICY = bl.Policy(successors={OLD: NEW})
PRISTINE = vars(botocore.session.Session)["create_client"]  # botocore's own, at import


def create_client_now() -> Any:
    return vars(botocore.session.Session)["create_client"]


@pytest.fixture
def world(local_world: World) -> World:
    """The shared scenario, in-process, its clock past OLD's end of life in us-east-1."""
    local_world.at(EOL_AT)
    return local_world


@pytest.fixture(autouse=True)
def _uninstalled() -> Iterator[None]:
    """Every test leaves botocore as it found it, even when it fails."""
    assert create_client_now() is PRISTINE, "an earlier test leaked a process-wide install"
    yield
    bl.uninstall()
    assert create_client_now() is PRISTINE


@pytest.fixture
def sessions(world: World) -> Iterator[Callable[[], boto3.Session]]:
    """Makes fake sessions (clients answered in-process); their own installs are undone after."""
    made: list[boto3.Session] = []

    def make() -> boto3.Session:
        made.append(world.fake.session("us-east-1"))
        return made[-1]

    yield make
    for session in made:
        bl.uninstall(session)


def lifecycle_handlers(client: Any) -> list[Any]:
    """The bedrock-lifecycle handlers ``client`` runs after a Converse call.

    Emitting the event runs them, which is harmless here: with no plan in the context they
    return at once. Through botocore's public ``emit``, which lists each handler it ran.
    """
    responses = client.meta.events.emit(
        "after-call.bedrock-runtime.Converse",
        http_response=None,
        parsed={},
        model=None,
        context={},
    )
    return [h for h, _ in responses if getattr(h, "__module__", None) == "bedrock_lifecycle._hooks"]


def governor_of(client: Any) -> bl.Governor:
    [handler] = lifecycle_handlers(client)
    governor: bl.Governor = handler.__self__.governor
    return governor


def install_everywhere(world: World, **options: Any) -> bl.Governor:
    options.setdefault("policy", POLICY)
    options.setdefault("ledger", bl.MemoryLedger())
    return bl.install(catalog=world.catalog(), **options)


def records(governor: bl.Governor) -> list[bl.UsageRecord]:
    ledger = governor.ledger
    assert isinstance(ledger, bl.MemoryLedger)
    return ledger.records()


def check_fallback(world: World, governor: bl.Governor, client: Any, operation: str) -> None:
    with pytest.warns(bl.FallbackWarning):
        response = call(client, operation, f"us.{OLD}")
    assert world.invoked(operation) == [f"us.{NEW}"]
    assert bl.lifecycle_metadata(response) is not None
    assert response["ResponseMetadata"]["BedrockLifecycle"]["fallback"] is True
    [record] = records(governor)
    assert (record.operation, record.invoked_model_id) == (operation, f"us.{NEW}")
    assert record.fallback_from == f"us.{OLD}"
    assert record.input_tokens == 1000


# -- which clients are reached --------------------------------------------------------------


@pytest.mark.parametrize("operation", ["Converse", "ConverseStream", "InvokeModel"])
def test_a_client_of_a_session_made_after_install_is_governed(
    world: World, sessions: Callable[[], boto3.Session], operation: str
) -> None:
    governor = install_everywhere(world)
    client = sessions().client("bedrock-runtime")
    check_fallback(world, governor, client, operation)


def test_a_client_of_a_session_made_before_install_is_governed(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    session = sessions()
    governor = install_everywhere(world)
    check_fallback(world, governor, session.client("bedrock-runtime"), "Converse")


def test_a_plain_boto3_session_with_explicit_keys_is_governed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As LangChain does when given keys: a boto3.Session of its own, over real HTTP.
    dummy_aws_environment(monkeypatch)
    governor = install_everywhere(world)
    session = boto3.Session(
        aws_access_key_id="AKIAEVERYWHERETEST00",
        aws_secret_access_key="everywhere-dummy-secret",
        region_name="us-east-1",
    )
    client = session.client("bedrock-runtime", endpoint_url=world.fake.endpoint_url)
    check_fallback(world, governor, client, "Converse")


def test_a_botocore_session_is_governed_in_both_forms(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    dummy_aws_environment(monkeypatch)
    core = botocore.session.Session()
    url = world.fake.endpoint_url
    everywhere = install_everywhere(world)
    assert governor_of(core.create_client("bedrock-runtime", endpoint_url=url)) is everywhere
    own = bl.install(core, catalog=world.catalog(), policy=POLICY, ledger=bl.MemoryLedger())
    try:
        client = core.create_client("bedrock-runtime", endpoint_url=url)
        assert bl.installed_governor(core) is own
        check_fallback(world, own, client, "Converse")
    finally:
        bl.uninstall(core)
    assert records(everywhere) == []


def test_clients_of_other_services_are_left_alone(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    session = sessions()
    install_everywhere(world)
    assert lifecycle_handlers(session.client("s3")) == []
    assert lifecycle_handlers(session.client("bedrock")) == []
    assert len(lifecycle_handlers(session.client("bedrock-runtime"))) == 1


# -- the per-session form, and the two together ---------------------------------------------


def test_a_session_install_alone_governs_that_session_only(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    governed, other = sessions(), sessions()
    governor = bl.install(
        governed, catalog=world.catalog(), policy=POLICY, ledger=bl.MemoryLedger()
    )
    assert create_client_now() is PRISTINE  # the per-session form patches nothing
    with pytest.raises(ClientError, match="end of its life"):
        call(other.client("bedrock-runtime"), "Converse", OLD)
    check_fallback(world, governor, governed.client("bedrock-runtime"), "Converse")
    assert bl.installed_governor(other) is None


@pytest.mark.parametrize("first", ["session", "process"])
def test_a_session_install_takes_precedence_and_handlers_never_double(
    world: World, sessions: Callable[[], boto3.Session], first: str
) -> None:
    session, other = sessions(), sessions()

    def install_session() -> bl.Governor:
        return bl.install(session, catalog=world.catalog(), policy=POLICY, ledger=bl.MemoryLedger())

    def install_process() -> bl.Governor:
        refuse = bl.Policy(on_eol="error")
        return install_everywhere(world, policy=refuse)

    if first == "session":
        own, everywhere = install_session(), install_process()
    else:
        everywhere, own = install_process(), install_session()
    client = session.client("bedrock-runtime")

    assert lifecycle_handlers(client) == lifecycle_handlers(client)[:1]  # one set, not two
    assert governor_of(client) is own
    assert bl.installed_governor(session) is own
    check_fallback(world, own, client, "Converse")
    assert records(everywhere) == []
    # Clients of any other session get the process-wide governor, which refuses.
    with pytest.raises(bl.ModelEndOfLifeError):
        call(other.client("bedrock-runtime"), "Converse", OLD)
    # Without its own install, the session's next clients fall to the process-wide one.
    bl.uninstall(session)
    assert bl.installed_governor(session) is everywhere
    assert governor_of(session.client("bedrock-runtime")) is everywhere


# -- uninstall() ----------------------------------------------------------------------------


def test_uninstall_restores_botocores_own_function(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    session = sessions()
    install_everywhere(world)
    governor = install_everywhere(world)  # again: the settings are replaced, the patch is one
    patched = create_client_now()
    assert patched is not PRISTINE
    assert patched.__wrapped__ is PRISTINE
    early = session.client("bedrock-runtime")

    bl.uninstall()

    assert create_client_now() is PRISTINE
    assert bl.installed_governor(session) is None
    with pytest.raises(ClientError, match="end of its life"):
        call(session.client("bedrock-runtime"), "Converse", OLD)
    # A client created while installed keeps the handlers it was given.
    check_fallback(world, governor, early, "Converse")
    bl.uninstall()  # harmless twice
    assert create_client_now() is PRISTINE


def test_uninstall_keeps_a_wrapper_another_library_put_over_ours(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    session = sessions()
    install_everywhere(world)
    ours = create_client_now()

    def theirs(self: Any, *args: Any, **kwargs: Any) -> Any:
        return ours(self, *args, **kwargs)

    botocore.session.Session.create_client = theirs  # type: ignore[method-assign]
    try:
        bl.uninstall()
        assert create_client_now() is theirs  # taking ours out would have dropped theirs
        assert lifecycle_handlers(session.client("bedrock-runtime")) == []  # ours is inert
        governor = install_everywhere(world)
        assert create_client_now() is theirs  # ours is still in the chain: not wrapped twice
        assert governor_of(session.client("bedrock-runtime")) is governor
    finally:
        botocore.session.Session.create_client = ours  # type: ignore[method-assign]
    # The autouse fixture's uninstall() now finds ours on top again and restores botocore's.


# -- shadows, threads, installed_governor ---------------------------------------------------


def test_shadows_of_a_process_wide_install_go_ungoverned_through_the_callers_session(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    world.at(LEGACY_AT)
    shadow = bl.Shadow(rate=1.0)
    governor = install_everywhere(world, shadow=shadow)
    # The fake answers this session's clients in-process only: a shadow sent through any
    # other session (boto3's default one, say) could not reach it.
    client = sessions().client("bedrock-runtime")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        call(client, "Converse", OLD)
    shadow.close()
    [record] = shadow.records()
    assert (record.primary_model_id, record.shadow_model_id) == (OLD, NEW)
    assert record.shadow.ok
    assert [r.invoked_model_id for r in records(governor)] == [OLD]  # the shadow is not governed
    assert set(world.invoked("Converse")) == {OLD, NEW}


def test_clients_created_from_many_threads_at_once_are_each_governed_once(
    world: World, sessions: Callable[[], boto3.Session]
) -> None:
    governor = install_everywhere(world)
    made = [sessions() for _ in range(16)]
    start = threading.Barrier(len(made))
    clients: list[Any] = []
    failures: list[BaseException] = []

    def create(session: boto3.Session) -> None:
        try:
            start.wait()
            client = session.client("bedrock-runtime")
            clients.append(client)
            call(client, "Converse", OLD)
        except BaseException as error:  # reported below, from the test's thread
            failures.append(error)

    threads = [threading.Thread(target=create, args=(s,)) for s in made]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.FallbackWarning)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert len(clients) == len(made)
    assert all(governor_of(client) is governor for client in clients)
    assert world.invoked("Converse") == [NEW] * len(made)
    assert len(records(governor)) == len(made)


def test_install_and_uninstall_racing_leave_botocore_as_it_was(world: World) -> None:
    catalog = world.catalog()
    start = threading.Barrier(8)

    def churn() -> None:
        start.wait()
        for _ in range(200):
            bl.install(catalog=catalog)
            bl.uninstall()

    threads = [threading.Thread(target=churn) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: races show
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert create_client_now() is PRISTINE


def test_installed_governor_names_the_one_that_applies(
    world: World, sessions: Callable[[], boto3.Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", sessions())
    session = sessions()
    assert bl.installed_governor() is None
    everywhere = install_everywhere(world)
    assert bl.installed_governor() is everywhere  # boto3's default session, and any other
    assert bl.installed_governor(session) is everywhere
    own = bl.install(session, catalog=world.catalog())
    assert bl.installed_governor(session) is own
    assert bl.installed_governor() is everywhere
