"""A small city that shares services, for the sharing map's tests (tests/cli, tests/monitoring).

The catalogue provides identity (wh-dsj-auth/sso), data exchange (wh-dsj-exchange/exchange)
and office automation (wh-zwfw-oa/oa). Two other tenants run an identity system of their
own (wh-gongan-idp, wh-jiaotong-sso: the duplicates). Requests, one of each standing:

    wh-gongan-video  -> wh-gongan-idp/login        granted (its own department)
    wh-gongan-video  -> wh-dsj-exchange/exchange   granted (pool gov)
    wh-shuiwu-portal -> wh-dsj-auth/sso            granted (the city)
    wh-shuiwu-portal -> wh-gongan-idp/login        not-in-audience
    wh-shuiwu-portal -> wh-dsj-auth/admin          unknown-service
    wh-shuiwu-portal -> wh-nope-app/x              unknown-tenant
"""

from __future__ import annotations

import pathlib

import registries as r

from citycloud import tenants

GRANTED, REFUSED = 3, 3
DEPARTMENT_NAMES = {"wh-dsj": "市大数据中心", "wh-gongan": "市公安局", "wh-jiaotong": "市交通局",
                    "wh-shuiwu": "市水务局", "wh-zwfw": "市政务服务中心"}


def documents() -> list[r.Document]:
    return [
        r.tenant("wh-dsj-auth", services=[r.service("sso", kind="identity", city=True)]),
        r.tenant("wh-dsj-exchange", services=[
            r.service("exchange", kind="data-exchange", ports=(443, 8443), pools=["gov"])]),
        r.tenant("wh-zwfw-oa", services=[r.service("oa", kind="office-automation", city=True)]),
        r.tenant("wh-gongan-idp", cpu=16, memory="64Gi", storage="1Ti", services=[
            r.service("login", kind="identity", departments=["wh-gongan"])]),
        r.tenant("wh-jiaotong-sso", cpu=8, memory="16Gi", storage="100Gi",
                 services=[r.service("sso", kind="identity")]),
        r.tenant("wh-gongan-video", namespaces=["video", "analytics"], consumes=[
            r.consumption("wh-gongan-idp", "login", namespaces=["video"]),
            r.consumption("wh-dsj-exchange", "exchange")]),
        r.tenant("wh-shuiwu-portal", consumes=[
            r.consumption("wh-dsj-auth", "sso"), r.consumption("wh-gongan-idp", "login"),
            r.consumption("wh-dsj-auth", "admin"), r.consumption("wh-nope-app", "x")]),
    ]


def platform_document() -> r.Document:
    return r.platform(shared_services=[
        r.shared_service("identity", tenant="wh-dsj-auth", service="sso",
                         display_name="统一身份认证"),
        r.shared_service("data-exchange", tenant="wh-dsj-exchange", service="exchange",
                         display_name="数据共享交换"),
        r.shared_service("office-automation", tenant="wh-zwfw-oa", service="oa")])


def write(root: pathlib.Path) -> pathlib.Path:
    return r.write(root, *documents(), platform=platform_document(), departments=[
        r.department(code, name=name) for code, name in DEPARTMENT_NAMES.items()])


def make(root: pathlib.Path) -> tenants.Platform:
    return tenants.load(write(root))
