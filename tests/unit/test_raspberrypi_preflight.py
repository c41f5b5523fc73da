"""The installer's Raspberry Pi branches (packaging/raspberrypi/preflight.sh) on fake roots.

Each test lays out the files a Pi has (`/proc/device-tree/model`, `/proc/cgroups`,
`/boot/firmware/cmdline.txt`) under a temporary root and runs the real script, and
scripts/install.sh --check, against it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFLIGHT = REPO / "packaging" / "raspberrypi" / "preflight.sh"
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait"
PI4 = "Raspberry Pi 4 Model B Rev 1.5"


def fake_root(
    root: Path,
    *,
    model: str | None = PI4,
    memory: int | None = 1,
    cmdline: str | None = CMDLINE,
    boot: str = "boot/firmware",
) -> Path:
    (root / "proc").mkdir(parents=True)
    if model is not None:
        (root / "proc" / "device-tree").mkdir()
        (root / "proc" / "device-tree" / "model").write_bytes(model.encode() + b"\0")
    if memory is not None:
        (root / "proc" / "cgroups").write_text(
            "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
            "cpuset\t0\t52\t1\ncpu\t0\t52\t1\n"
            f"memory\t0\t52\t{memory}\npids\t0\t52\t1\n"
        )
    if cmdline is not None:
        (root / boot).mkdir(parents=True)
        (root / boot / "cmdline.txt").write_text(cmdline + "\n")
    return root


def run(
    root: Path, *args: str, arch: str = "arm64", script: Path = PREFLIGHT
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAASBOX_ROOT": str(root), "FAASBOX_ARCH": arch}
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=30
    )


def test_a_ready_pi_4_is_named_with_its_platform(tmp_path: Path) -> None:
    result = run(fake_root(tmp_path))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"board={PI4} arch=arm64 platform=linux/arm64\n"


@pytest.mark.parametrize(
    ("arch", "platform"),
    [("armhf", "linux/arm/v7"), ("arm64", "linux/arm64"), ("amd64", "linux/amd64")],
)
def test_the_debian_architecture_picks_the_image_platform(
    tmp_path: Path, arch: str, platform: str
) -> None:
    """A 32-bit Raspberry Pi OS on a 64-bit Pi is armhf: the userland decides."""
    result = run(fake_root(tmp_path, model="Raspberry Pi 3 Model B Plus Rev 1.3"), arch=arch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"arch={arch} platform={platform}\n")


def test_an_unsupported_architecture_is_refused(tmp_path: Path) -> None:
    result = run(fake_root(tmp_path), arch="i386")
    assert result.returncode == 2
    assert result.stderr == (
        "install: unsupported architecture i386 (faasbox runs on amd64, arm64 and armhf)\n"
    )


@pytest.mark.parametrize(
    "model",
    [
        "Raspberry Pi Zero W Rev 1.1",
        "Raspberry Pi Model B Plus Rev 1.2",
        "Raspberry Pi Zero Rev 1.3",
    ],
)
def test_armv6_boards_are_refused_with_the_reason(tmp_path: Path, model: str) -> None:
    result = run(fake_root(tmp_path, model=model), arch="armhf")
    assert result.returncode == 2
    assert result.stderr == (
        f"install: {model} is an ARMv6 board: Debian's armhf Docker Engine needs ARMv7 "
        "(a Pi 2 or later, Zero 2)\n"
    )


def test_a_zero_2_is_armv7_enough(tmp_path: Path) -> None:
    result = run(fake_root(tmp_path, model="Raspberry Pi Zero 2 W Rev 1.0"), arch="armhf")
    assert result.returncode == 0, result.stderr


def test_no_device_tree_is_not_a_pi_and_fine(tmp_path: Path) -> None:
    result = run(fake_root(tmp_path, model=None, cmdline=None), arch="amd64")
    assert result.stdout == "board=unknown arch=amd64 platform=linux/amd64\n"


def test_a_disabled_memory_cgroup_says_exactly_what_to_add(tmp_path: Path) -> None:
    root = fake_root(tmp_path, memory=0)
    result = run(root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "install: the memory cgroup is disabled, so Docker cannot run functions with memory "
        "limits.\n"
        "install: add this to the end of the single line in /boot/firmware/cmdline.txt, "
        "then reboot:\n"
        "install:   cgroup_enable=memory cgroup_memory=1\n"
        "install: (or run the installer again with --fix-cgroups to add it; a reboot is still "
        "needed)\n"
    )
    assert (root / "boot/firmware/cmdline.txt").read_text() == CMDLINE + "\n"


def test_fix_cgroups_edits_cmdline_once_and_keeps_a_backup(tmp_path: Path) -> None:
    root = fake_root(tmp_path, memory=0, cmdline=CMDLINE + " cgroup_disable=memory quiet")
    cmdline = root / "boot/firmware/cmdline.txt"
    result = run(root, "--fix-cgroups")
    assert result.returncode == 3
    assert result.stderr == (
        "install: added 'cgroup_enable=memory cgroup_memory=1' to /boot/firmware/cmdline.txt "
        "(backup: /boot/firmware/cmdline.txt.faasbox-backup)\n"
        "install: reboot, then run the installer again\n"
    )
    assert cmdline.read_text() == CMDLINE + " quiet cgroup_enable=memory cgroup_memory=1\n"
    assert (root / "boot/firmware/cmdline.txt.faasbox-backup").read_text() == (
        CMDLINE + " cgroup_disable=memory quiet\n"
    )
    # Before the reboot the kernel still has it off: a second run changes nothing.
    again = run(root, "--fix-cgroups")
    assert again.returncode == 2
    assert again.stderr == (
        "install: the memory cgroup is disabled, but /boot/firmware/cmdline.txt already "
        "enables it: reboot to apply it\n"
    )
    assert cmdline.read_text() == CMDLINE + " quiet cgroup_enable=memory cgroup_memory=1\n"


def test_older_images_keep_cmdline_in_boot(tmp_path: Path) -> None:
    root = fake_root(tmp_path, memory=0, boot="boot")
    assert run(root, "--fix-cgroups").returncode == 3
    assert (
        (root / "boot/cmdline.txt")
        .read_text()
        .endswith("rootwait cgroup_enable=memory cgroup_memory=1\n")
    )


def test_without_proc_cgroups_the_v2_controllers_decide(tmp_path: Path) -> None:
    root = fake_root(tmp_path, memory=None)
    controllers = root / "sys/fs/cgroup/cgroup.controllers"
    controllers.parent.mkdir(parents=True)
    controllers.write_text("cpuset cpu io pids\n")
    assert run(root).returncode == 2
    controllers.write_text("cpuset cpu io memory pids\n")
    assert run(root).returncode == 0


def test_install_check_runs_the_preflight_and_names_the_mode(tmp_path: Path) -> None:
    """--check installs nothing, so it runs unprivileged and on any machine."""
    install = REPO / "scripts" / "install.sh"
    root = fake_root(tmp_path)
    result = run(root, "--container", "--check", arch="armhf", script=install)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"board={PI4} arch=armhf platform=linux/arm/v7 mode=container\n"
    conflicting = run(root, "--systemd", "--container", "--check", script=install)
    assert conflicting.returncode == 64
    assert conflicting.stderr == "install: choose one of --systemd and --container\n"
