"""faasbox watchdog: the HTTP front of every faasbox function image.

fork mode (the default) starts `fprocess` once per request, as the OpenFaaS classic
watchdog does; http mode keeps one `fprocess` warm and reverse-proxies to it. Images get
this package as one file, a zip application built by faasbox (`fwatchdog.py`), so it is
standard library only and runs on any CPython 3.9+ (Debian, Alpine, Raspberry Pi OS).
README.md next to this package documents every setting and every difference from the
classic watchdog.
"""
