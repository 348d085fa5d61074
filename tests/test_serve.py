"""sgfkit serve: loading a run's cached fits, live edits over HTTP, request validation, safe binding.

The server runs in a thread on a free loopback port; requests go through http.client, so the
status codes, headers and JSON bodies are the ones a browser sees (tests/test_browser.py drives
the page itself).
"""
from __future__ import annotations

import http.client
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import sgfkit
from sgfkit.cli import cli
from sgfkit.editor_session import EditorSession, parse_seed
from sgfkit.errors import RequestError, SgfkitError
from sgfkit.serve import check_bind, is_loopback, make_server

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


@pytest.fixture
def tiny_run(tmp_path, monkeypatch, tiny_plugins) -> Path:
    monkeypatch.chdir(tmp_path)
    return sgfkit.run(TINY, overrides=["evaluation=null"]).run_dir


class Client:
    """A loopback HTTP client for one server: ``get`` / ``post`` return (status, JSON or bytes)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            if resp.getheader("Content-Type", "").startswith("application/json"):
                return resp.status, json.loads(data)
            return resp.status, data
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> tuple[int, Any]:
        return self.request("GET", path, headers=headers)

    def post(self, body: Any, raw: bytes | None = None, content_type: str = "application/json") -> tuple[int, Any]:
        data = raw if raw is not None else json.dumps(body).encode()
        return self.request("POST", "/api/edit", data, {"Content-Type": content_type})


@pytest.fixture
def server(tiny_run) -> Iterator[Client]:
    session = EditorSession.open(tiny_run)
    srv = make_server(session, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield Client(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()


def test_info_offers_the_runs_methods_target_attributes_and_layers(server):
    status, info = server.get("/api/info")
    assert status == 200
    assert info["methods"] == ["shift", "shift-ridge"]
    assert [s["name"] for s in info["sliders"]] == ["red", "blue"]  # the recipe's targets, in order
    assert info["layers"] == ["auto", "all", "coarse", "middle", "fine"] and info["caption"] is False
    status, page = server.get("/")
    assert status == 200 and b"sgfkit live editor" in page and b"/api/edit" in page


def test_an_edit_moves_the_targeted_attribute_and_returns_images(server):
    _, source = server.get("/api/sample?seed=5")
    assert source["image"].startswith("data:image/png;base64,")
    status, result = server.post({"seed": 5, "method": "shift", "target": {"red": 1.0}})
    assert status == 200, result
    assert result["reading"]["red"] > source["reading"]["red"] + 0.05
    assert result["image"] != source["image"] and len(result["path"]) == 3  # path_length 4: 3 interior points
    assert result["status"] == "done" and result["steps"] == 4 and result["description"].startswith("red ")
    # the layer choice reaches the manipulator: the tiny generator's colour lives in the coarse layer only
    _, fine = server.post({"seed": 5, "method": "shift", "target": {"red": 1.0}, "layers": "fine"})
    assert abs(fine["reading"]["red"] - source["reading"]["red"]) < 0.01  # only the texture moved
    # auto measures that, and edits the coarse layer: the same result as asking for it
    _, coarse = server.post({"seed": 5, "method": "shift", "target": {"red": 1.0}, "layers": "coarse"})
    _, auto = server.post({"seed": 5, "method": "shift", "target": {"red": 1.0}, "layers": "auto"})
    assert auto["image"] == coarse["image"] != fine["image"]
    # an empty target is no edit
    _, same = server.post({"seed": 5, "method": "shift", "target": {}})
    assert same["image"] == source["image"] and same["status"] == "unchanged"


@pytest.mark.parametrize("body, message", [
    ({"seed": -1, "method": "shift", "target": {"red": 1}}, "seed must be a whole number from 0 to 2147483647, got -1"),
    ({"seed": "abc", "target": {"red": 1}}, "got 'abc'"),
    ({"seed": 2 ** 31, "target": {"red": 1}}, "got 2147483648"),
    ({"seed": True, "target": {"red": 1}}, "got None"),
    ({"seed": 1.5, "target": {"red": 1}}, "got 1.5"),
    ({"seed": 0, "target": {"rde": 1}}, "unknown attribute 'rde'; did you mean 'red'? this run's attributes: red, blue"),
    ({"seed": 0, "target": {"green": 1}}, "unknown attribute 'green'"),  # not one of the run's sliders
    ({"seed": 0, "target": {"red": 1.5}}, "red must be a number from 0 to 1, got 1.5"),
    ({"seed": 0, "target": {"red": "high"}}, "red must be a number from 0 to 1, got 'high'"),
    ({"seed": 0, "method": "shfit", "target": {}}, "unknown method 'shfit'; did you mean 'shift'?"),
    ({"seed": 0, "target": {}, "layer": "fine"}, "unknown request field 'layer'; did you mean 'layers'?"),
    ({"seed": 0, "target": {}, "layers": "fin"}, "unknown layers 'fin'; did you mean 'fine'?"),
    ({"seed": 0, "target": "red"}, "target must be a JSON object"),
    ([1, 2], "the request body must be a JSON object"),
])
def test_bad_requests_get_a_clear_json_error_and_the_server_keeps_serving(server, body, message):
    status, error = server.post(body)
    assert status == 400 and message in error["error"], error
    assert "Traceback" not in error["error"]
    status, ok = server.post({"seed": 0, "method": "shift", "target": {"red": 0.9}})
    assert status == 200 and ok["status"] == "done"


def test_malformed_http_requests(server):
    assert server.post(None, raw=b'{"seed": 0, "target": {"red": NaN}}')[1]["error"].startswith(
        "red must be a number from 0 to 1, got nan")
    status, error = server.post(None, raw=b'{"seed": 0,')
    assert status == 400 and error["error"].startswith("the request body is not valid JSON")
    status, error = server.post(None, raw=b"seed=0", content_type="application/x-www-form-urlencoded")
    assert status == 415 and "Content-Type: application/json" in error["error"]
    status, error = server.request("POST", "/api/edit", b"x" * 70_000, {"Content-Type": "application/json"})
    assert status == 413 and "too large" in error["error"]
    assert server.get("/api/sample")[1]["error"] == "missing seed: use /api/sample?seed=0"
    assert server.get("/api/sample?seed=-4")[0] == 400
    assert server.get("/nope")[0] == 404
    assert server.request("POST", "/api/info", b"{}", {"Content-Type": "application/json"})[0] == 405
    # a body the server did not read must not be taken for the next request on the connection
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/nope", body=b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 404 and resp.getheader("Connection") == "close"
    resp.read()
    conn.close()
    # a page elsewhere that resolves its own name to 127.0.0.1 (DNS rebinding) is turned away
    status, error = server.get("/api/info", Host="attacker.example:8765")
    assert status == 403 and "unexpected Host header" in error["error"]
    assert server.get("/api/info", Host="localhost:1")[0] == 200
    assert server.get("/api/info")[0] == 200


def test_an_internal_error_is_a_500_json_and_the_server_keeps_serving(server, tiny_run, monkeypatch, capsys):
    from sgfkit_tiny.components import TinyShift

    original = TinyShift.edit
    monkeypatch.setattr(TinyShift, "edit", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    status, error = server.post({"seed": 0, "method": "shift", "target": {"red": 1}})
    assert status == 500 and error["error"] == "internal error (RuntimeError: boom); the server keeps running"
    monkeypatch.setattr(TinyShift, "edit", original)
    assert server.post({"seed": 0, "method": "shift", "target": {"red": 1}})[0] == 200


def test_parse_seed_accepts_query_strings_and_json_numbers():
    assert parse_seed("12") == 12 and parse_seed(7) == 7 and parse_seed(3.0) == 3
    with pytest.raises(RequestError):
        parse_seed("1e3")


def test_non_local_binds_are_refused_unless_asked(tiny_run):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.3.2.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    for host in ("0.0.0.0", "192.168.1.4", "::"):
        with pytest.raises(SgfkitError, match=f"refusing to serve on '{host}'.*add --allow-remote"):
            check_bind(host, allow_remote=False)
    check_bind("0.0.0.0", allow_remote=True)
    result = CliRunner().invoke(cli, ["serve", str(tiny_run), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "refusing to serve on '0.0.0.0'" in result.output
    assert "Traceback" not in result.output


def test_open_errors_name_the_fix(tiny_run, tmp_path):
    with pytest.raises(SgfkitError, match="is not a run folder .*pass a folder that 'sgfkit run' wrote"):
        EditorSession.open(tmp_path)
    empty = tmp_path / "empty-cache"
    with pytest.raises(SgfkitError, match=r"no cached fit of 'shift', 'shift-ridge' for .*add --fit to fit now"):
        EditorSession.open(tiny_run, cache_dir=empty)
    session = EditorSession.open(tiny_run, cache_dir=empty, fit_missing=True)  # fits now and caches it
    fits = sorted((empty / "fits").glob("*.safetensors"))
    assert len(fits) == 2
    # ... exactly the fits 'sgfkit run' made: same keys, same dataset shards, same tensors
    from safetensors.torch import load_file

    for fit in fits:
        original = tmp_path / ".sgfkit-cache" / "fits" / fit.name
        a, b = load_file(fit), load_file(original)
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert session.edit({"seed": 1, "method": "shift-ridge", "target": {"blue": 0.0}})["status"] == "done"
    assert EditorSession.open(tiny_run, cache_dir=empty).methods.keys() == {"shift", "shift-ridge"}


def test_the_cache_is_found_from_another_working_folder(tiny_run, monkeypatch, tmp_path):
    """Serving from elsewhere finds the cache beside the runs/ folder (where 'sgfkit run' put it)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    session = EditorSession.open(tmp_path / tiny_run)
    assert session.sample(0)["seed"] == 0


def test_a_changed_fit_input_is_not_served_from_a_stale_cache(tiny_run):
    """The fit keys are recomputed from the run's recipe: a cache of other settings does not match."""
    recipe = tiny_run / "recipe.resolved.yaml"
    recipe.write_text(recipe.read_text().replace("ridge: 0.5", "ridge: 0.25"))
    with pytest.raises(SgfkitError, match="no cached fit of 'shift-ridge'"):
        EditorSession.open(tiny_run)


def test_serve_help_lists_the_options():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--host", "--allow-remote", "--cache-dir", "--fit"):
        assert option in result.output


def test_a_run_whose_methods_cannot_express_its_targets_is_refused(tmp_path, monkeypatch, tiny_plugins):
    monkeypatch.chdir(tmp_path)
    run = sgfkit.run(TINY, overrides=["encoder.type=tiny-embed", "evaluator.type=tiny-colour", "evaluation=null",
                                      "edits=null"])
    shutil.rmtree(run.run_dir.parent.parent / ".sgfkit-cache", ignore_errors=True)
    with pytest.raises(SgfkitError, match="can edit towards embedding conditions"):
        EditorSession.open(run.run_dir, fit_missing=True)


@pytest.mark.slow
@pytest.mark.integration
def test_the_load_benchmark_runs_clean_on_a_tiny_run(tiny_run, tmp_path, subprocess_env, python):
    """benchmarks/bench_serve.py (loopback, bounded): concurrent clients, no failed request, memory sampled."""
    import subprocess

    bench = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_serve.py"
    proc = subprocess.run([python, str(bench), "--run", str(tiny_run), "--cwd", str(tmp_path), "--clients", "3",
                           "--seconds", "2", "--seeds", "4"], env=subprocess_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed requests: 0" in proc.stdout and " 3 clients for 2 s:" in proc.stdout
    assert "server memory through the 3-client phase" in proc.stdout


@pytest.mark.slow
def test_a_caption_run_takes_captions_not_sliders(tmp_path, monkeypatch):
    """The real flower-caption encoder (captioner + Sentence-BERT) behind a tiny SGF fit."""
    monkeypatch.chdir(tmp_path)
    recipe = Path(__file__).resolve().parent.parent / "recipes" / "flowers_caption.yaml"
    run = sgfkit.run(recipe, device="cpu", overrides=[
        "dataset.samples=64", "manipulators.0.train_steps=20", "manipulators.0.max_steps=5", "edits.seeds=[0]",
        'edits.targets=[{target: {caption: "this flower has red petals"}, layers: fine}]'])
    session = EditorSession.open(run.run_dir)
    info = session.info()
    assert info["caption"] is True and info["sliders"] == [] and info["presets"] == ["this flower has red petals"]
    result = session.edit({"seed": 2, "method": "SGF", "target": {"caption": " this flower has blue petals "},
                           "layers": "fine"})
    assert result["image"].startswith("data:image/png") and result["reading"] == {}
    assert "flower" in result["description"] and result["steps"] >= 1  # the captioner's reading of the result
    for target, message in [({"caption": ""}, "this run edits towards captions"),
                            ({"smile": 1}, "this run edits towards captions"),
                            ({"caption": "x" * 301}, "the caption has 301 characters; keep it under 300")]:
        with pytest.raises(RequestError, match=message):
            session.edit({"seed": 2, "method": "SGF", "target": target})
