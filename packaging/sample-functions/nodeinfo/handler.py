"""nodeinfo: what the replica runs on; "verbose" in the body adds CPUs and interfaces."""

import fcntl
import os
import platform
import socket
import struct

_SIOCGIFADDR = 0x8915


def _uptime() -> str:
    with open("/proc/uptime") as f:
        seconds = int(float(f.read().split()[0]))
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h {seconds % 3600 // 60}m {seconds % 60}s"


def _cpus() -> list[str]:
    models = []
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Processor") and value.strip():
                models.append(value.strip())
    return models or [platform.processor() or platform.machine()] * (os.cpu_count() or 1)


def _address(name: str) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return "-"
    return socket.inet_ntoa(packed[20:24])


def handle(event):
    lines = [
        f"Hostname: {socket.gethostname()}",
        f"Platform: {platform.system().lower()}",
        f"Arch: {platform.machine()}",
        f"CPU count: {os.cpu_count()}",
        f"Uptime: {_uptime()}",
    ]
    if b"verbose" in event.body.lower():
        lines += [f"CPU {i}: {model}" for i, model in enumerate(_cpus())]
        lines += [f"Interface {name}: {_address(name)}" for _, name in socket.if_nameindex()]
    return 200, {"Content-Type": "text/plain"}, "\n".join(lines) + "\n"
