"""The README's "Write an agent" section, followed verbatim: its install command in a fresh virtual
environment, its bot pasted into a new file in another directory; two copies play each other."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.battle_support import FAST

ROOT = Path(__file__).resolve().parent.parent


def _section() -> tuple[str, str]:
    """The install command and the bot, exactly as the README shows them."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Write an agent", 1)[1].split("\n## ", 1)[0]
    install = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip()
    bot = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return install, bot


async def _run(argv: list[str], *, cwd: Path, env: dict[str, str], shell: bool = False) -> tuple[int, str, str]:
    if shell:
        proc = await asyncio.create_subprocess_shell(argv[0], cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
                                                     stderr=asyncio.subprocess.PIPE)
    else:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 300)
    finally:
        if proc.returncode is None:
            proc.kill()
    return proc.returncode, out.decode(), err.decode()


async def test_the_readme_bot_installs_and_two_copies_play_each_other(make_server, tmp_path: Path) -> None:
    install, bot = _section()
    assert install.startswith("pip install") and len(bot.strip().splitlines()) <= 12
    venv = tmp_path / "venv"
    code, _, err = await _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=dict(os.environ))
    assert code == 0, err
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENA_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"  # as if the venv were activated
    code, _, err = await _run([install], cwd=ROOT, env=env, shell=True)  # the README's command, as written
    assert code == 0, err

    elsewhere = tmp_path / "my-agents"
    elsewhere.mkdir()
    (elsewhere / "my_bot.py").write_text(bot)
    srv = await make_server(**FAST)
    env.update(ARENA_URL=srv.url, ARENA_CONFIG_DIR=str(tmp_path / "config"))
    runs = await asyncio.gather(*(_run([str(venv / "bin" / "python"), "my_bot.py"], cwd=elsewhere, env=env)
                                  for _ in range(2)))
    outs = []
    for code, out, err in runs:
        assert code == 0 and "Traceback" not in err, err
        outs.append(out)
    names = sorted(re.search(r"I am (\S+) on", out).group(1) for out in outs)
    assert names == ["my_bot", "my_bot-2"]
    rooms = {re.search(r"in battle (\w+)", out).group(1) for out in outs}
    assert len(rooms) == 1  # the same battle
    for out in outs:
        assert "watch it at " + srv.url + "/#/battle/" in out
        assert len(re.findall(r"^arena: turn \d", out, re.M)) == 6
        assert re.search(r"^arena: result: ", out, re.M)
    assert not list(elsewhere.glob("*.json")) and not list(elsewhere.glob(".*key*"))  # no key in the work dir
