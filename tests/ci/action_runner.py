"""Runs the steps of a composite `action.yml` the way the GitHub Actions runner does, for tests.

What is real: every `run:` step is written to a file and run by `bash --noprofile --norc -eo pipefail`
(the runner's `shell: bash`), with the step's `env:` and `working-directory:`, `GITHUB_ACTION_PATH`,
a fresh `GITHUB_OUTPUT` file per step whose `name=value` lines become `steps.<id>.outputs`, and a
`GITHUB_STEP_SUMMARY` file. Expressions `${{ … }}` and `if:` are evaluated for the forms action.yml
uses (contexts inputs, steps, github, runner; `==`, `!=`, `&&`, `||`, string literals); anything else
raises, so a new form cannot silently evaluate wrong.

What stands in: the two `uses:` steps. `actions/setup-python` reports the test's own interpreter, and
`actions/cache` reports a hit after linking the venv path to the test's own venv (which has depaudit
installed from this checkout), as if the cache had restored a venv made by the install step.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REFERENCE = re.compile(r"\b(inputs|steps|github|runner)((?:\.[A-Za-z0-9_-]+)+)")
TOKEN = re.compile(r"\s*(?:(?P<str>'[^']*')|(?P<op>==|!=|&&|\|\||\(|\))|(?P<ref>[A-Za-z][A-Za-z0-9_.-]*))")


@dataclass
class StepResult:
    id: str | None
    ran: bool
    returncode: int = 0
    stdout: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepResult]
    outputs: dict[str, str]

    @property
    def failed(self) -> bool:
        return any(s.returncode != 0 for s in self.steps)

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def log(self) -> str:
        return "".join(s.stdout for s in self.steps)


class Runner:
    """Run one action.yml with given inputs. `workspace` is GITHUB_WORKSPACE, `temp` RUNNER_TEMP."""

    def __init__(self, action_dir: Path, workspace: Path, temp: Path, env: dict[str, str]) -> None:
        self.action_dir = action_dir
        self.spec = yaml.safe_load((action_dir / "action.yml").read_text())
        self.workspace, self.temp, self.env = workspace, temp, env
        self.summary = temp / "step_summary.md"
        self.summary.touch()

    def run(self, inputs: dict[str, str]) -> ActionRun:
        context = {
            "inputs": self._inputs(inputs),
            "steps": {},
            "github": {"token": self.env.get("GITHUB_TOKEN", "")},
            "runner": {"temp": str(self.temp)},
        }
        results: list[StepResult] = []
        for index, step in enumerate(self.spec["runs"]["steps"]):
            condition = step.get("if", "success()")
            failed_before = any(r.returncode for r in results)
            if not self._condition(condition, context, failed_before):
                results.append(StepResult(step.get("id"), False))
                continue
            result = self._uses(step, context) if "uses" in step else self._run(step, index, context)
            results.append(result)
            if result.id:
                context["steps"][result.id] = {"outputs": result.outputs}
        outputs = {name: self._expand(spec["value"], context) for name, spec in self.spec["outputs"].items()}
        return ActionRun(results, outputs)

    def _inputs(self, given: dict[str, str]) -> dict[str, str]:
        values = {}
        for name, spec in self.spec["inputs"].items():
            if spec.get("required") and name not in given:
                raise ValueError(f"input {name} is required")
            default = str(spec.get("default", ""))
            values[name] = given.get(name, default)
        values = {
            k: self._expand(v, {"github": {"token": self.env.get("GITHUB_TOKEN", "")}}) for k, v in values.items()
        }
        return values

    def _run(self, step: dict, index: int, context: dict) -> StepResult:
        assert step.get("shell") == "bash", "composite run steps must name their shell"
        script = self.temp / f"step{index}.sh"
        script.write_text(self._expand(step["run"], context))
        output = self.temp / f"output{index}"
        output.write_text("")
        env = {
            **self.env,
            "GITHUB_ACTION_PATH": str(self.action_dir),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "RUNNER_TEMP": str(self.temp),
            **{k: self._expand(str(v), context) for k, v in (step.get("env") or {}).items()},
        }
        cwd = self.workspace / self._expand(step.get("working-directory", "."), context)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return StepResult(step.get("id"), True, proc.returncode, proc.stdout + proc.stderr, outputs)

    def _uses(self, step: dict, context: dict) -> StepResult:
        name = step["uses"].split("@")[0]
        if name == "actions/setup-python":
            assert step["with"].get("update-environment") is False, "the action must not change the job's Python"
            return StepResult(
                step.get("id"),
                True,
                outputs={"python-path": sys.executable, "python-version": ".".join(map(str, sys.version_info[:3]))},
            )
        if name == "actions/cache":
            path = Path(self._expand(step["with"]["path"], context))
            assert path.is_absolute() and self._expand(step["with"]["key"], context).startswith("depaudit-action-")
            if not path.exists():
                path.symlink_to(Path(sys.executable).parent.parent)  # the test's venv stands in for a restored one
            return StepResult(step.get("id"), True, outputs={"cache-hit": "true"})
        raise AssertionError(f"no stand-in for {step['uses']}")

    # ------------------------------------------------------------------ expressions

    def _lookup(self, reference: str, context: dict) -> str:
        value: object = context
        for part in reference.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value if isinstance(value, str) else ""

    def _expand(self, text: str, context: dict) -> str:
        return EXPRESSION.sub(lambda m: self._evaluate(m.group(1), context), text)

    def _evaluate(self, expression: str, context: dict) -> str:
        if not REFERENCE.fullmatch(expression):
            raise AssertionError(f"unsupported expression in action.yml: {expression!r}")
        return self._lookup(expression, context)

    def _condition(self, condition: str, context: dict, failed_before: bool) -> bool:
        condition = EXPRESSION.sub(lambda m: m.group(1), str(condition)).strip()
        if condition in ("success()", "always()", "failure()"):
            return {"success()": not failed_before, "always()": True, "failure()": failed_before}[condition]
        python = []
        for match in TOKEN.finditer(condition):
            if match["str"]:
                python.append(repr(match["str"][1:-1]))
            elif match["op"]:
                python.append({"&&": " and ", "||": " or "}.get(match["op"], match["op"]))
            elif REFERENCE.fullmatch(match["ref"]):
                python.append(repr(self._lookup(match["ref"], context)))
            else:
                raise AssertionError(f"unsupported condition in action.yml: {condition!r}")
        # An `if:` without a status function also requires that no earlier step failed.
        return not failed_before and bool(eval("".join(python), {"__builtins__": {}}, {}))
