"""A real OpenID Connect provider for tests, run as a subprocess on loopback.

Built on authlib's authorization server (authorization code grant, PKCE,
client authentication, signed ID tokens); only the HTTP plumbing and the
in-memory stores are ours. Users log in through a plain HTML form.

    python -m tests.support.oidc_provider --port 8123 --config config.json

config.json: {"clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
              "users": [{"sub", "email", "email_verified", "name", "password"}]}
"""

from __future__ import annotations

import argparse
import html
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on loopback

from authlib.oauth2 import AuthorizationServer  # noqa: E402
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request, grants  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oidc.core import UserInfo  # noqa: E402
from authlib.oidc.core.grants import OpenIDCode  # noqa: E402
from joserfc.jwk import KeySet, RSAKey  # noqa: E402

CODE_LIFETIME = 60  # seconds


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in {"openid", "profile", "email"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def is_expired(self) -> bool:
        return time.time() > self.auth_time + CODE_LIFETIME


class Store:
    def __init__(self, config: dict[str, Any], issuer: str) -> None:
        self.issuer = issuer
        self.clients = {c["client_id"]: Client(**c) for c in config["clients"]}
        self.users = {u["sub"]: u for u in config["users"]}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, str] = {}  # access token -> sub
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})

    def user_by_login(self, email: str, password: str) -> dict[str, Any] | None:
        for user in self.users.values():
            if user["email"].lower() == email.lower() and secrets.compare_digest(user["password"], password):
                return user
        return None


def user_info(user: dict[str, Any], scope: str) -> UserInfo:
    info = UserInfo(sub=user["sub"])
    if "profile" in scope:
        info["name"] = user.get("name", "")
    if "email" in scope:
        info["email"] = user["email"]
        info["email_verified"] = bool(user.get("email_verified"))
    return info


def build_server(store: Store) -> WsgiAuthorizationServer:
    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

        def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
            data = request.payload.data
            store.codes[code] = AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.payload.scope,
                sub=request.user["sub"],
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )

        def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
            item = store.codes.get(code)
            if item and item.client_id == client.client_id and not item.is_expired():
                return item
            return None

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            store.codes.pop(authorization_code.code, None)  # single use

        def authenticate_user(self, authorization_code: AuthorizationCode) -> dict[str, Any]:
            return store.users[authorization_code.sub]

    class OpenID(OpenIDCode):
        def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
            return any(c.nonce == nonce for c in store.codes.values())

        def resolve_client_private_key(self, client: Client) -> RSAKey:
            return store.key

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            return {"iss": store.issuer, "aud": [client.client_id]}

        def get_client_algorithm(self, client: Client) -> str:
            return "RS256"

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": "RS256", "kid": "test-key"}

        def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
            return user_info(user, scope)

    server = WsgiAuthorizationServer(store)
    server.register_grant(CodeGrant, [CodeChallenge(required=True), OpenID(require_nonce=False)])
    return server


class WsgiPayload(OAuth2Payload):
    def __init__(self, data: dict[str, list[str]]) -> None:
        self._datalist = data

    @property
    def data(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._datalist.items()}

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class WsgiRequest(OAuth2Request):
    def __init__(self, environ: dict[str, Any], form: dict[str, list[str]]) -> None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        uri = f"http://{environ['HTTP_HOST']}{environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')}"
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if "CONTENT_TYPE" in environ:
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        super().__init__(environ["REQUEST_METHOD"], uri, headers=headers)
        self._args = {k: v[0] for k, v in query.items()}
        self._form = {k: v[0] for k, v in form.items()}
        self.payload = WsgiPayload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class WsgiAuthorizationServer(AuthorizationServer):
    def __init__(self, store: Store) -> None:
        super().__init__(scopes_supported=["openid", "profile", "email"])
        self.store = store
        self.register_token_generator("default", BearerTokenGenerator(lambda **kw: secrets.token_urlsafe(32)))

    def query_client(self, client_id: str) -> Client | None:
        return self.store.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.store.tokens[token["access_token"]] = request.user["sub"]

    def create_oauth2_request(self, request: WsgiRequest) -> WsgiRequest:
        return request

    def create_json_request(self, request: WsgiRequest) -> WsgiRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        return Response(status, json.dumps(body) if isinstance(body, dict) else (body or ""), list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class Response:
    status: int
    body: str
    headers: list[tuple[str, str]]


LOGIN_FORM = """<!DOCTYPE html><html><body><h1>Test OpenID provider</h1>
<form method="post" action="/authorize">{hidden}
<label>E-mail <input name="email"></label><label>Password <input name="password" type="password"></label>
<button type="submit">Log in</button></form></body></html>"""


class App:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.server = build_server(store)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        form: dict[str, list[str]] = {}
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(length).decode())
        request = WsgiRequest(environ, form)
        response = self.route(environ["PATH_INFO"], request)
        start_response(f"{response.status} X", [*response.headers, ("Cache-Control", "no-store")])
        return [response.body.encode()]

    def route(self, path: str, request: WsgiRequest) -> Response:
        if path == "/.well-known/openid-configuration":
            return self.json(self.discovery())
        if path == "/jwks":
            return self.json(KeySet([self.store.key]).as_dict(private=False))
        if path == "/authorize":
            return self.authorize(request)
        if path == "/token":
            return self.server.create_token_response(request)  # type: ignore[no-any-return]
        if path == "/userinfo":
            return self.userinfo(request)
        return Response(404, "not found", [("Content-Type", "text/plain")])

    def discovery(self) -> dict[str, Any]:
        issuer = self.store.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, request: WsgiRequest) -> Response:
        if request.method == "GET":
            self.server.get_consent_grant(request)  # validates client, redirect URI, scope, PKCE
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in request.args.items()
            )
            return Response(200, LOGIN_FORM.format(hidden=hidden), [("Content-Type", "text/html")])
        user = self.store.user_by_login(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            return Response(403, "wrong e-mail or password", [("Content-Type", "text/plain")])
        return self.server.create_authorization_response(request, grant_user=user)  # type: ignore[no-any-return]

    def userinfo(self, request: WsgiRequest) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        sub = self.store.tokens.get(token) if scheme.lower() == "bearer" else None
        if sub is None:
            return Response(401, "", [("WWW-Authenticate", 'Bearer error="invalid_token"')])
        return self.json(dict(user_info(self.store.users[sub], "openid profile email")))

    @staticmethod
    def json(data: dict[str, Any]) -> Response:
        return Response(200, json.dumps(data), [("Content-Type", "application/json")])


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        print(format % args, flush=True)  # noqa: T201 - goes to the process log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    store = Store(config, issuer=f"http://127.0.0.1:{args.port}")
    with make_server("127.0.0.1", args.port, App(store), handler_class=QuietHandler) as httpd:
        print(f"listening on {store.issuer}", flush=True)  # noqa: T201
        httpd.serve_forever()


if __name__ == "__main__":
    main()
