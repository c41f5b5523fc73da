"""faasbox finds its own container id in its mount table, and nothing on a host."""

from __future__ import annotations

from pathlib import Path

from faasbox.engine.swarm import mounted_container_id

CONTAINER = "3f4e1b9a" * 8
IN_CONTAINER = (
    "712 598 0:62 / / rw,relatime master:301 - overlay overlay rw,lowerdir=/var/lib/docker/"
    "overlay2/l/ABC,upperdir=/var/lib/docker/overlay2/9d/diff\n"
    "735 712 0:66 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    f"760 712 254:0 /var/lib/docker/containers/{CONTAINER}/resolv.conf /etc/resolv.conf "
    "rw,relatime - ext4 /dev/vda rw\n"
    f"761 712 254:0 /var/lib/docker/containers/{CONTAINER}/hostname /etc/hostname "
    "rw,relatime - ext4 /dev/vda rw\n"
    "762 712 254:0 /var/lib/docker/volumes/s/_data /var/lib/faasbox rw - ext4 /dev/vda rw\n"
)
ON_HOST = (
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    # The engine's own folder mounted on a host is not a container's hostname mount.
    "40 22 254:16 / /var/lib/docker rw,relatime shared:20 - ext4 /dev/vdb rw\n"
)


def test_the_id_comes_from_the_engine_s_bind_mounts(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(IN_CONTAINER)
    assert mounted_container_id(mountinfo) == CONTAINER


def test_a_separate_docker_filesystem_still_shows_the_id(tmp_path: Path) -> None:
    """With /var/lib/docker on its own filesystem the mount root starts at /containers."""
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(IN_CONTAINER.replace("/var/lib/docker/containers/", "/containers/"))
    assert mounted_container_id(mountinfo) == CONTAINER


def test_a_host_has_none(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(ON_HOST)
    assert mounted_container_id(mountinfo) == ""
    assert mounted_container_id(tmp_path / "missing") == ""
