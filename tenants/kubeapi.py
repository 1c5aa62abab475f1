"""The one boundary to the Kubernetes API: a client from a kubeconfig, the calls, the errors.

Whoever reads a live cluster (stacks.offboarding's volume check, monitoring.cluster's
exporter reads, cli.doctor's version check) gets its ApiClient, pages its list calls and
has the client's failures (ApiException, urllib3's errors, a broken kubeconfig) turned into
one `ClusterError` here, with a message that says what to do.

It lives in tenants because stacks and monitoring both need it but may not import each
other and there is no sixth top-level package; the kubernetes client (deploy and exporter
extras) is imported inside the functions only, and .importlinter lets this module alone
import it and keeps tenants' and policies' own modules from using it, so the core install
never loads the client.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from citycloud.tenants import errors

_PAGE = 500  # list in pages so a large cluster never answers with one huge body

# What to do about a refusal, by HTTP status.
_ADVICE = {
    401: "renew the kubeconfig's credentials (log in to the cluster again)",
    403: "use a kubeconfig or context whose user may do this, or ask for the RBAC permission",
    429: "the API server is busy: try again in a minute",
}
_UNREACHABLE = "check that the cluster is up and that the kubeconfig names its address"


class ClusterError(errors.KubernetesError):
    """The Kubernetes API refused or did not answer; the message says why and what to do."""


class ClusterConfigError(ClusterError, errors.InputError):
    """No usable kubeconfig or in-cluster service account: a usage error, not an outage."""

    exit_code = errors.INVALID


class NotFound(ClusterError):
    """The API server has no such object or resource type (404): often an answer, "none"."""


def api_client(*, kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None,
               required: bool = False) -> Any:
    """A kubernetes ApiClient from a kubeconfig or the pod's service account; no retries.

    Without a kubeconfig or context: the pod's service account inside a cluster, else
    $KUBECONFIG (all its files) or ~/.kube/config. Returns None when there is nothing to
    connect with, or raises ClusterConfigError saying so when `required`. Retries are off:
    a scrape waits for a read, and a command the user runs again is the better retry.
    """
    import kubernetes  # seconds to import, and only the extras have it: see the docstring

    configuration = kubernetes.client.Configuration()
    configuration.retries = 0
    if kubeconfig is None and context is None and "KUBERNETES_SERVICE_HOST" in os.environ:
        try:
            kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration)
        except (kubernetes.config.ConfigException, OSError) as err:
            raise ClusterConfigError(
                f"cannot use the pod's service account: {_short(err)}; mount its token, "
                "or pass --kubeconfig") from err
        return kubernetes.client.ApiClient(configuration=configuration)
    files = _files(kubeconfig)
    if kubeconfig is None and context is None and not any(f.exists() for f in files):
        if required:
            raise ClusterConfigError(
                "no kubeconfig found (KUBECONFIG, ~/.kube/config): pass --kubeconfig or "
                "set KUBECONFIG to the cluster's kubeconfig")
        return None
    try:
        return kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=os.pathsep.join(str(f) for f in files), context=context,
            client_configuration=configuration)
    except (kubernetes.config.ConfigException, OSError, ValueError) as err:
        raise ClusterConfigError(
            f"cannot use kubeconfig {', '.join(str(f) for f in files)}"
            f"{f' with context {context}' if context else ''}: {_short(err)}; check the "
            "file and the context's name ('kubectl config get-contexts')") from err


def preload() -> None:
    """Import the kubernetes client now: it takes seconds, which a caller with a deadline
    (the exporter's first scrape) should not spend on its first request."""
    import kubernetes  # noqa: F401  (see api_client)


def contexts(*, kubeconfig: str | os.PathLike[str] | None = None) -> tuple[str, ...] | None:
    """The context names of the kubeconfig api_client would read, or None when there is no
    kubeconfig file; ClusterConfigError when one cannot be read.

    Read as plain YAML, not through the client's loader: that one refuses a kubeconfig
    without a current context, which a file holding one context per cluster often is.
    """
    files = _files(kubeconfig)
    if kubeconfig is None:
        files = [f for f in files if f.exists()]
        if not files:
            return None
    names: list[str] = []
    for file in files:
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ClusterConfigError(
                f"cannot read kubeconfig {file}: {_short(err)}; check the file") from err
        entries = document.get("contexts") if isinstance(document, dict) else None
        names += [str(entry["name"]) for entry in entries or []
                  if isinstance(entry, dict) and entry.get("name")]
    return tuple(names)


def _files(kubeconfig: str | os.PathLike[str] | None) -> list[pathlib.Path]:
    """The kubeconfig files to read: the one given, else $KUBECONFIG's, else ~/.kube/config."""
    if kubeconfig is not None:
        return [pathlib.Path(kubeconfig)]
    return [pathlib.Path(p).expanduser()
            for p in (os.environ.get("KUBECONFIG") or "~/.kube/config").split(os.pathsep) if p]


def core_v1(api: Any) -> Any:
    """The core/v1 API (namespaces' objects: quotas, services, pods, claims) over `api`."""
    import kubernetes  # see api_client

    return kubernetes.client.CoreV1Api(api)


def custom_objects(api: Any) -> Any:
    """The API of custom resources (CRDs) over `api`."""
    import kubernetes  # see api_client

    return kubernetes.client.CustomObjectsApi(api)


def list_all(call: Callable[..., Any], /, *, reading: str, timeout: float,
             **kwargs: Any) -> dict[str, Any]:
    """Every page of one list call, as the JSON the API server sent: {"items": [...]}.

    Raw JSON, not the client's models: deserialising thousands of pods into model
    objects costs seconds, and callers need a few fields of each. `reading` names what
    is listed, for the error ("cannot read {reading}: ..."); a 404 raises NotFound.
    """
    items: list[Any] = []
    token = None
    with _mapped(f"read {reading}"):
        while True:
            page_args: dict[str, Any] = {"_continue": token} if token else {}
            response = call(limit=_PAGE, _preload_content=False, _request_timeout=timeout,
                            **kwargs, **page_args)
            body = json.loads(response.data)
            if not isinstance(body, dict):
                raise ValueError("a list call answered without a JSON object")
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                break
    return {"items": items}


def server_version(api: Any, *, timeout: float) -> str:
    """The cluster's Kubernetes version (its /version), or ClusterError saying why not."""
    import kubernetes  # see api_client

    with _mapped("read the cluster's version"):
        answer = kubernetes.client.VersionApi(api).get_code(_request_timeout=timeout)
    return str(answer.git_version)


def server_side_apply(api: Any, objects: list[dict[str, Any]], *, field_manager: str) -> None:
    """Apply each object by server-side apply, forced (its fields are `field_manager`'s
    alone), in the order given (namespaces before what they hold)."""
    import kubernetes  # see api_client

    client = kubernetes.dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]
    for manifest in objects:
        meta = manifest["metadata"]
        with _mapped(f"apply {manifest['kind']} {meta.get('namespace', '')}/{meta['name']}"):
            resource = client.resources.get(api_version=manifest["apiVersion"],
                                            kind=manifest["kind"])
            client.server_side_apply(  # type: ignore[no-untyped-call]
                resource, body=manifest, namespace=meta.get("namespace"),
                field_manager=field_manager, force_conflicts=True)


def delete_objects(api: Any, keys: list[tuple[str, str, str, str]]) -> None:
    """Delete objects by (apiVersion, kind, namespace, name), in the order given; one that
    is gone already is fine."""
    import kubernetes  # see api_client

    client = kubernetes.dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]
    for api_version, kind, namespace, name in keys:
        try:
            with _mapped(f"delete {kind} {namespace}/{name}"):
                client.resources.get(api_version=api_version, kind=kind).delete(
                    name=name, namespace=namespace or None)
        except NotFound:
            continue


@contextlib.contextmanager
def _mapped(doing: str) -> Iterator[None]:
    """The client's failures inside, as ClusterError "cannot {doing}: why; what to do"."""
    import kubernetes  # see api_client
    import urllib3

    try:
        yield
    except kubernetes.client.ApiException as err:
        if not err.status:  # the client's own wrapping of a TLS failure: no answer at all
            raise ClusterError(f"cannot {doing}: cannot reach the API server ({err.reason}); "
                               f"{_UNREACHABLE}") from err
        refusal = f"{err.status} {err.reason}" + _said(err.body)
        if err.status == 404:
            raise NotFound(f"cannot {doing}: the API server has none ({refusal})") from err
        advice = _ADVICE.get(err.status) or (
            "the API server failed: try again, or ask the cluster's operators"
            if err.status >= 500 else "see the API server's answer with --debug")
        raise ClusterError(f"cannot {doing}: the API server refused it ({refusal}); "
                           f"{advice}") from err
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterError(f"cannot {doing}: cannot reach the API server ({_short(err)}); "
                           f"{_UNREACHABLE}") from err
    except ValueError as err:  # a body that is not JSON
        raise ClusterError(
            f"cannot {doing}: the API server answered something unreadable ({_short(err)}); "
            "check that the kubeconfig's server is a Kubernetes API server") from err


def _said(body: Any) -> str:
    """": what the API server said" from its Status body (who may not do what), or ""."""
    try:
        message = json.loads(body).get("message")
    except (TypeError, ValueError, AttributeError):
        return ""
    return f": {str(message).splitlines()[0][:300]}" if message else ""


def _short(err: Exception) -> str:
    text = str(getattr(err, "reason", None) or err)  # MaxRetryError wraps the error that matters
    return text.splitlines()[0][:200].rstrip(".") if text else type(err).__name__
