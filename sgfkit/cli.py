"""The ``sgfkit`` command line: thin click wrappers over :mod:`sgfkit.api`.

No torch at import time: ``sgfkit list`` and ``--help`` stay fast; rich and the pipeline are
imported inside the commands. A user mistake (:class:`SgfkitError`) prints one message and
exits 1; ``SGFKIT_DEBUG=1`` shows the traceback instead.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from sgfkit import __version__
from sgfkit.errors import SgfkitError

def _debug() -> bool:
    return os.environ.get("SGFKIT_DEBUG", "") not in ("", "0")


class SgfkitGroup(click.Group):
    """Turns SgfkitError into exit 1 + message, and adds the commands plugins register."""

    _plugin_commands_added = False

    def _add_plugin_commands(self) -> None:
        if self._plugin_commands_added:
            return
        self._plugin_commands_added = True
        from sgfkit.plugins import get_plugin_set

        # a broken plugin must not break the CLI: each implementation runs on its own
        get_plugin_set().call_each("sgfkit_register_commands", lambda _plugin: self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as err:
            from sgfkit.errors import did_you_mean

            if args and "No such command" in str(err):
                hint = did_you_mean(args[0], self.list_commands(ctx))
                if hint:
                    raise click.UsageError(f"No such command {args[0]!r};{hint}", ctx) from None
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SgfkitError as err:
            if _debug():
                raise
            click.echo(f"Error: {err}", err=True)
            if not isinstance(err, _Quiet):
                click.echo("(set SGFKIT_DEBUG=1 to see the traceback)", err=True)
            ctx.exit(1)


class _Quiet(SgfkitError):
    """An error whose message is the whole story."""


def _console() -> Any:
    from rich.console import Console

    # piped output (files, CI logs) has no width: use a wide one rather than truncating cells to 80 columns
    return Console() if sys.stdout.isatty() else Console(width=160)


def _warn_plugin_problems() -> None:
    from sgfkit.plugins import get_plugin_set
    from sgfkit.registry import get_registry

    get_registry()
    for info in get_plugin_set().problems():
        click.echo(f"warning: plugin {info.name!r} is {info.status}: {info.error}", err=True)


@click.group(cls=SgfkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sgfkit")
def cli() -> None:
    """Edit images by moving through the latent space of a GAN (SGF, InterFaceGAN, GANSpace).

    \b
    Examples:
      sgfkit list                      components of every installed plugin
      sgfkit run recipes/flowers_caption.yaml
      sgfkit run RECIPE --set dataset.samples=500 --dry-run
    """


# -- list / info / weights --------------------------------------------------------------------

@cli.command("list")
@click.argument("kind", required=False, metavar="[KIND]")
@click.option("--plugins", "show_plugins", is_flag=True, help="List plugins (with failures) instead of components.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output with stable keys.")
def list_cmd(kind: str | None, show_plugins: bool, as_json: bool) -> None:
    """List registered components (or plugins with --plugins).

    KIND is one of generators, encoders, manipulators, metrics, projectors (singular forms and condition-encoder
    work too).
    """
    from sgfkit import api

    if show_plugins:
        plugins = api.get_plugins()
        if as_json:
            click.echo(json.dumps(plugins, indent=2))
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="sgfkit plugins")
        for col in ("Plugin", "Distribution", "Version", "Hooks", "Status"):
            table.add_column(col)
        for p in plugins:
            hooks = ", ".join(h.removeprefix("sgfkit_register_") for h in p["hooks"])
            style = "green" if p["status"] == "loaded" else ("dim" if p["status"] == "disabled" else "red")
            status = p["status"] + (f": {p['error']}" if p["error"] else "")
            table.add_row(p["name"], p["distribution"] or "-", p["version"] or "-", hooks,
                          f"[{style}]{escape(status)}[/{style}]")
        _console().print(table)
        return
    components = api.list_components(kind)
    if as_json:
        click.echo(json.dumps(components, indent=2))
        return
    _print_components(components)
    _warn_plugin_problems()


def _print_components(components: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from sgfkit.kinds import KIND_WORDS

    console = _console()
    if not components:
        console.print("No components registered. Check 'sgfkit list --plugins'.")
    from sgfkit.kinds import KINDS

    for kind in KINDS:
        rows = [c for c in components if c["kind"] == kind]
        if not rows:
            continue
        table = Table(title=KIND_WORDS[kind], title_justify="left")
        for col in ("Name", "Aliases", "Provided by", "Version", "Summary"):
            table.add_column(col)
        for c in rows:
            table.add_row(c["name"], ", ".join(c["aliases"]), c["distribution"] or c["plugin"],
                          c["version"] or "-", escape(c["summary"]))
        console.print(table)


def _param_rows(params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, p in params.items():
        constraint = []
        if p.choices is not None:
            constraint.append("one of " + ", ".join(map(str, p.choices)))
        if p.min is not None:
            constraint.append(f">= {p.min}")
        if p.max is not None:
            constraint.append(f"<= {p.max}")
        rows.append({"name": key, "type": p.type_name(), "default": "<required>" if p.required else p.default,
                     "required": p.required, "help": p.help, "constraints": "; ".join(constraint)})
    return rows


@cli.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info_cmd(name: str, as_json: bool) -> None:
    """Show a component's parameters: types, defaults and help."""
    from sgfkit import api
    from sgfkit.registry import get_registry

    kind, cls = api.find_component(name)
    spec = get_registry().get(kind, name)
    doc = (cls.__doc__ or "").strip().splitlines()
    data = {**spec.as_dict(), "class": spec.ref_text, "doc": doc[0] if doc else "",
            "params": _param_rows(cls.all_params())}
    training = getattr(cls, "training_params", None)
    if training:
        data["training_params"] = _param_rows(training)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{name}[/bold] ({kind}) from {spec.distribution or spec.plugin} "
                  f"{spec.version or ''}\n{escape(data['doc'] or spec.summary)}")
    for title, rows in (("parameters", data["params"]), ("training options", data.get("training_params", []))):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for col in ("Name", "Type", "Default", "Help"):
            table.add_column(col)
        for r in rows:
            help_text = r["help"] + (f" ({r['constraints']})" if r["constraints"] else "")
            default = escape(repr(r["default"])) if not r["required"] else "[red]required[/red]"
            table.add_row(r["name"], escape(r["type"]), default, escape(help_text))
        console.print(table)


@cli.group("weights", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def weights_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the public checkpoints plugins can load, whether each is present, and where sgfkit looks.

    'sgfkit weights check' also verifies the sha256 of the files present.
    """
    if ctx.invoked_subcommand is None:
        _show_weights(as_json, verify=False)


@weights_cmd.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def weights_check_cmd(as_json: bool) -> None:
    """Verify the weight files on disk against their published sha256 (exit 1 on a mismatch)."""
    bad = _show_weights(as_json, verify=True)
    if bad:
        raise _Quiet(f"{bad} weights file(s) do not match their published sha256; download them again")


def _show_weights(as_json: bool, verify: bool) -> int:
    """Print the weights table (or JSON); return how many files failed their sha256 check."""
    from sgfkit import api
    from sgfkit.registry import get_registry
    from sgfkit.weights import search_dirs, weights_status

    rows = []
    for entry, data in zip(get_registry().weights, api.list_weights()):
        rows.append({**data, **weights_status(entry.weights, verify_sha256=verify)})
    data = {"weights": rows, "search_dirs": [str(d) for d in search_dirs()]}
    bad = sum(r["status"] == "sha256 MISMATCH" for r in rows)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return bad
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="known weights", title_justify="left", show_lines=True)
    # what a user must copy (file name, URL) wraps but is never cut with an ellipsis
    for col in ("Name", "Component", "File", "Status", "Description", "Source", "License"):
        table.add_column(col, overflow="fold")
    styles = {"missing": "yellow", "sha256 MISMATCH": "red", "sha256 ok": "green", "present": "green"}
    for w in rows:
        style = styles.get(w["status"], "")
        status = f"[{style}]{escape(w['status'])}[/{style}]" if style else escape(w["status"])
        table.add_row(escape(w["name"]), escape(w["component"]), escape(w["file_name"]), status,
                      escape(w["description"]), escape(w["source"]), escape(w["license"]))
    console = _console()
    console.print(table)
    console.print("Put weight files in one of:\n" + "\n".join(f"  {d}" for d in data["search_dirs"])
                  + "\nor pass a path in the recipe." + ("" if verify else " 'sgfkit weights check' verifies sha256."))
    return bad


# -- recipes ----------------------------------------------------------------------------------

def _threads_option(help_text: str = "torch CPU threads (default: one per idle core, from the machine's load)."
                    ) -> Any:
    return click.option("--threads", type=click.IntRange(1), default=None, help=help_text)


def _overrides(sets: tuple[str, ...], seed: int | None = None, device: str | None = None,
               threads: int | None = None) -> list[str]:
    extra = list(sets)
    for key, value in (("seed", seed), ("device", device), ("threads", threads)):
        if value is not None:
            extra.append(f"{key}={value}")
    return extra


@cli.command("validate")
@click.argument("recipes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a recipe value (YAML-typed).")
@click.option("--schema-only", is_flag=True, help="Skip the checks beyond the schema (weights files present).")
def validate_cmd(recipes: tuple[Path, ...], sets: tuple[str, ...], schema_only: bool) -> None:
    """Check recipes (every problem of each at once) without loading anything heavy.

    Beyond the schema: every weights file the components name must be present, and edit targets and
    evaluation attributes must be names the encoders declare.

    \b
    Example:
      sgfkit validate recipes/*.yaml
    """
    from sgfkit import api
    from sgfkit.recipe_checks import deep_check

    failed = 0
    for recipe in recipes:
        try:
            resolved = api.load_recipe(recipe, _overrides(sets))
            notes = [] if schema_only else deep_check(resolved, str(recipe))
        except SgfkitError as err:
            if len(recipes) == 1:
                raise
            failed += 1
            click.echo(f"Error: {err}", err=True)
            continue
        _print_providers(resolved)
        for note in notes:
            click.echo(f"  note: {note}")
        click.echo(f"{recipe}: OK")
    if failed:
        raise _Quiet(f"{failed} of {len(recipes)} recipes have problems (listed above)")


def _print_providers(recipe: Any) -> None:
    from sgfkit.registry import get_registry

    registry = get_registry()
    for path, cls in recipe.classes.items():
        spec = registry.get(cls.kind, cls.registry_name)
        click.echo(f"  {path}: {spec.name} ({spec.distribution or spec.plugin} {spec.version or ''})".rstrip())


@cli.command("run")
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Parent folder of the run folder (default: the recipe's output.dir).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a recipe value (YAML-typed).")
@click.option("--seed", type=int, default=None, help="Override the recipe's seed.")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or auto.")
@_threads_option("torch CPU threads (default: the recipe's threads:, else one per idle core).")
@click.option("--dry-run", is_flag=True, help="Validate and print the resolved recipe; load nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no notes; errors and warnings only.")
@click.option("-v", "--verbose", is_flag=True,
              help="Progress lines every second when piped; stage timings, cache hits and threads at the end.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append timestamped progress lines to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary (folder, metrics, warnings) as JSON.")
def run_cmd(recipe: Path, out_dir: Path | None, sets: tuple[str, ...], seed: int | None, device: str | None,
            threads: int | None, dry_run: bool, no_progress: bool, quiet: bool, verbose: bool,
            log_file: Path | None, as_json: bool) -> None:
    """Run a recipe: sample, fit, edit, evaluate, write a run folder.

    \b
    Examples:
      sgfkit run recipes/flowers_caption.yaml
      sgfkit run recipes/faces_attributes.yaml --set dataset.samples=2000 --seed 1
    """
    from sgfkit import api

    resolved = api.load_recipe(recipe, _overrides(sets, seed, device, threads))
    if dry_run:
        click.echo(resolved.to_yaml().rstrip())
        click.echo("# providers:")
        _print_providers(resolved)
        return
    _warn_plugin_problems()
    from sgfkit.rich_progress import progress_for_cli

    if quiet and verbose:
        raise _Quiet("--quiet and --verbose contradict each other; give one")
    with progress_for_cli(not no_progress, quiet=quiet or as_json, log_file=log_file,
                          interval_s=1.0 if verbose else 5.0):
        result = api.run(resolved, out_dir=out_dir)
    if as_json:
        from sgfkit.report_model import fit_warnings

        summary = {"run_dir": str(result.run_dir), "metrics": result.metrics.get("metrics", {}),
                   "warnings": fit_warnings(result.metrics.get("fit", {})), "notes": result.notes,
                   "cache_hits": result.cache_hits, "timings_s": result.timings,
                   "report": str(result.run_dir / "report.md")}
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    click.echo(f"run folder: {result.run_dir}")
    if quiet:
        return
    for note in result.notes:
        click.echo(f"note: {note}")
    if verbose:
        env = json.loads((result.run_dir / "environment.json").read_text())
        click.echo(f"threads: {env['threads']['threads']} ({env['threads']['source']}, {env['threads']['reason']})")
        for stage, seconds in result.timings.items():
            cached = " (from cache)" if result.cache_hits.get(stage) else ""  # same keys: dataset, fit:LABEL
            click.echo(f"  {stage:<24} {seconds:8.3f} s{cached}")
    click.echo(f"report: {result.run_dir / 'report.md'}")
    click.echo(f"in a browser: {result.run_dir / 'report.html'}")


@cli.command("serve")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="TCP port (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--allow-remote", is_flag=True, help="Allow binding to a non-loopback address.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Stage cache holding the run's fits (default: the recipe's output.cache_dir).")
@click.option("--fit", "fit_missing", is_flag=True, help="Fit manipulators missing from the cache now.")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or auto (default: the run's).")
@_threads_option()
def serve_cmd(run_dir: Path, port: int, host: str, allow_remote: bool, cache_dir: Path | None,
              fit_missing: bool, device: str | None, threads: int | None) -> None:
    """Open a live editor for a run in the browser: pick a seed, move sliders (or type a caption).

    \b
    Example:
      sgfkit serve runs/00000-faces-attributes     then open http://127.0.0.1:8765/
    """
    from sgfkit.serve import check_bind, make_server

    check_bind(host, allow_remote)  # before loading anything
    import torch

    from sgfkit.editor_session import EditorSession
    from sgfkit.threads import choose_threads

    torch.set_num_threads(choose_threads(threads, "--threads")["threads"])  # for the server's whole life

    session = EditorSession.open(run_dir, cache_dir=cache_dir, device=device, fit_missing=fit_missing)
    server = make_server(session, host, port, allow_remote)
    session.warm_up()
    click.echo(f"serving {run_dir} at {server.url} (Ctrl-C to stop)", nl=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()


@cli.command("project")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--recipe", "recipe", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Recipe whose generator (and projector: section) to use.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Parent folder of the run folder (default: the recipe's output.dir).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. projector.steps=500.")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or auto.")
@_threads_option("torch CPU threads (default: the recipe's threads:, else one per idle core).")
def project_cmd(images: tuple[Path, ...], recipe: Path, out_dir: Path | None, sets: tuple[str, ...],
                device: str | None, threads: int | None) -> None:
    """Project photos into the recipe's generator: latents.npz, projection.png, projection.json.

    Images of any size and mode are centre-cropped to a square and resized to the generator's
    resolution (EXIF orientation applied, transparency on white).

    \b
    Examples:
      sgfkit project face.png --recipe recipes/faces_attributes.yaml
      sgfkit project *.png --recipe R --set projector.space=w --set projector.steps=1000
    """
    from sgfkit import api
    from sgfkit.projection import project
    from sgfkit.threads import use_threads

    extra = _overrides(sets, None, device, threads)
    with use_threads(api.load_recipe(recipe, extra).data.get("threads"), "recipe"):
        result = project(images, recipe, out_dir=out_dir, overrides=extra)
    click.echo(f"run folder: {result.run_dir}")
    mean = result.projection.report()["mean"]
    click.echo("mean " + ", ".join(f"{k} {v:.3f}" for k, v in mean.items()) + f" ({len(images)} image(s))")


@cli.command("edit")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--recipe", "recipe", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Recipe whose generator, manipulators and edits to use.")
@click.option("--target", "targets", multiple=True, metavar="NAME=V[,NAME=V][ > NAME=V]",
              help="Edit target instead of the recipe's; '>' chains targets (smile=1 > bald=1).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Parent folder of the run folder (default: the recipe's output.dir).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a recipe value.")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or auto.")
@_threads_option("torch CPU threads (default: the recipe's threads:, else one per idle core).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def edit_cmd(images: tuple[Path, ...], recipe: Path, targets: tuple[str, ...], out_dir: Path | None,
             sets: tuple[str, ...], device: str | None, threads: int | None, no_progress: bool) -> None:
    """Edit photos: project them, fit (or load cached) manipulators, apply the edits, write the grid.

    \b
    Examples:
      sgfkit edit face.png --recipe recipes/faces_attributes.yaml
      sgfkit edit face.png --recipe recipes/faces_attributes.yaml --target 'smile=1 > bald=1 > glasses=1'
    """
    from sgfkit.projection import edit
    from sgfkit.rich_progress import progress_for_cli

    _warn_plugin_problems()
    with progress_for_cli(not no_progress):
        result = edit(images, recipe, targets=targets, out_dir=out_dir, overrides=_overrides(sets, None, device, threads))
    click.echo(f"run folder: {result.run_dir}")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"edits: {result.run_dir / 'edits.png'}, projection: {result.run_dir / 'projection.png'}")


# -- generator samples and encoder training ---------------------------------------------------

def _parse_sets(sets: tuple[str, ...], allowed: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``section.key=value`` strings -> {section: {key: value}}."""
    from sgfkit.recipe import RecipeError, parse_override

    out: dict[str, dict[str, Any]] = {a: {} for a in allowed}
    for text in sets:
        path, value = parse_override(text)
        if len(path) == 1 and len(allowed) == 1:
            path = (allowed[0], *path)
        if len(path) != 2 or path[0] not in allowed:
            raise RecipeError(f"--set {text!r}: use " + " or ".join(f"{a}.KEY=VALUE" for a in allowed), "--set")
        out[str(path[0])][str(path[1])] = value
    return out


@cli.command("samples")
@click.argument("generator")
@click.option("--encoder", default=None, help="Condition encoder whose description labels each image.")
@click.option("--n", "count", type=click.IntRange(1, 256), default=16, show_default=True, help="Number of images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples.")
@click.option("--set", "sets", multiple=True, metavar="generator.KEY=VALUE",
              help="Generator (or encoder.KEY=VALUE) parameter.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PNG file to write.")
@click.option("--attributes", default=None, metavar="A,B,...",
              help="Conditions the labels show (default: the encoder's first 4; the title names them).")
@_threads_option()
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def samples_cmd(generator: str, encoder: str | None, count: int, seed: int, sets: tuple[str, ...],
                out_file: Path, attributes: str | None, threads: int | None, no_progress: bool) -> None:
    """Write a labelled grid of generator samples (its title says which conditions the labels show)."""
    from sgfkit import api
    from sgfkit.outputs import label_legend, sample_grid, write_bytes_atomic
    from sgfkit.rich_progress import progress_for_cli
    from sgfkit.threads import use_threads

    params = _parse_sets(sets, ("generator", "encoder"))
    gen = api.get_generator(generator, **params["generator"])
    enc = api.get_condition_encoder(encoder, **params["encoder"]) if encoder else None
    chosen = [a.strip() for a in attributes.split(",") if a.strip()] if attributes else None
    if chosen and enc is None:
        raise _Quiet("--attributes needs --encoder (the encoder measures them)")
    dims = _dims(enc, chosen) if enc is not None else None  # unknown names fail here, before rendering
    with progress_for_cli(not no_progress), use_threads(threads, "--threads"):
        png = sample_grid(gen, enc, count, seed, attributes=chosen)
    write_bytes_atomic(out_file, png)
    click.echo(f"wrote {out_file}" + (f" (labels: {label_legend(enc, dims)})" if enc is not None else ""))


def _dims(encoder: Any, attributes: list[str] | None) -> list[int] | None:
    return [encoder.index_of(a) for a in attributes] if attributes else None


@cli.command("train-encoder")
@click.argument("name")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="Where to write the weights.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Training option (see sgfkit info NAME).")
@click.option("--images", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Your own images (face-attributes): the folder the labels' file column is relative to.")
@click.option("--labels", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --images: CSV 'file,<attribute>,...'; with --latents: CSV 'index,<attribute>,...' "
                   "(rows of the latents file); scores in [0, 1].")
@click.option("--latents", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Labels on generated samples (face-attributes): latents file (.npz/.npy/.pt) rendered by --generator.")
@click.option("--generator", default=None,
              help="With --latents: the generator that renders them (its parameters: --set generator.KEY=VALUE).")
@click.option("--backbone", default=None,
              help="face-attributes: senet50 trains only an attribute head on frozen VGGFace2 SE-ResNet-50 features.")
@click.option("--weights", default=None, help="With --backbone senet50: the VGGFace2 .pkl (senet50_ft_weight.pkl).")
@_threads_option("torch CPU threads, unless the encoder's own threads option is set (default: one per idle core).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def train_encoder_cmd(name: str, out_path: Path, sets: tuple[str, ...], images: Path | None, labels: Path | None,
                      latents: Path | None, generator: str | None, backbone: str | None, weights: str | None,
                      threads: int | None, no_progress: bool) -> None:
    """Train a condition encoder's weights (shipped ones, or on your labelled images / latents where supported)."""
    from sgfkit import api
    from sgfkit.params import validate_params
    from sgfkit.rich_progress import progress_for_cli
    from sgfkit.threads import use_threads

    cls = api.component_class("condition-encoder", name)
    # a bare KEY=VALUE is a training option; generator.KEY=VALUE goes to --generator
    sections = _parse_sets(tuple(t if t.split("=", 1)[0].startswith(("train.", "generator.")) else f"train.{t}"
                                 for t in sets), ("train", "generator"))
    given = sections["train"]
    given.update({k: str(v) for k, v in (("images", images), ("labels", labels), ("latents", latents),
                                         ("generator", generator), ("backbone", backbone), ("weights", weights))
                   if v is not None})
    if sections["generator"]:
        given["generator_params"] = sections["generator"]
    options = validate_params(cls.training_params, given, component=f"training of {name!r}")
    with progress_for_cli(not no_progress), use_threads(threads, "--threads"):
        report = cls.train(out_path, **options)
    click.echo(json.dumps(report, indent=2, default=str))


@cli.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["interfacegan", "ganspace"]), required=True,
              help="interfacegan: boundary_<condition>.npy files; ganspace: a component cache .npz.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the files (default: RUN_DIR/export-FORMAT).")
def export_cmd(run_dir: Path, fmt: str, out_dir: Path | None) -> None:
    """Write a run's fitted directions in InterFaceGAN's or GANSpace's file layout (run where the run ran)."""
    from sgfkit.export import export_run

    for path in export_run(run_dir, fmt, out_dir):
        click.echo(f"wrote {path}")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Print component warnings as one plain line (no source path), like the CLI's errors."""
    if _debug():
        click.echo(f"warning ({category.__name__}, {filename}:{lineno}): {message}", err=True)
    else:
        click.echo(f"warning: {message}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    import warnings

    warnings.showwarning = _show_warning
    try:
        code = cli.main(args=argv, prog_name="sgfkit", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        # every output is written atomically (temp file + rename), so nothing half-written is left behind
        click.echo("interrupted; no partial outputs were kept", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SgfkitError as err:  # raised outside a command (e.g. strict plugin loading)
        if _debug():
            raise
        click.echo(f"Error: {err}", err=True)
        sys.exit(1)
