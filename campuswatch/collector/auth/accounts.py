"""People's accounts, machines' tokens, signing in, and the audit log, over the store.

:class:`Accounts` is the one place credentials are checked and changed: the command line
(``user``, ``token``), the HTTP layer (logins, bearer tokens, the proxy's header) and the admin API all
go through it, and it writes every change and every login to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

from campuswatch.collector.auth.passwords import hash_password, verify_password
from campuswatch.collector.auth.principal import Principal, machine, person
from campuswatch.collector.auth.sessions import (
    Session,
    csrf_token,
    csrf_valid,
    new_key,
    new_sid,
    seal,
    unseal,
)
from campuswatch.collector.auth.throttle import LoginThrottle
from campuswatch.collector.auth.tokens import MAX_TOKEN_LENGTH, hash_token, new_token
from campuswatch.collector.model import (
    AuditAction,
    AuditEntry,
    AuditRecord,
    CampusManager,
    Role,
    School,
    TokenRecord,
    TokenScope,
    UserRecord,
)
from campuswatch.collector.rooms import room_link_key, room_link_valid
from campuswatch.collector.store.protocols import AuditStore, TokenStore, UserStore

log = logging.getLogger(__name__)

#: A login: letters, digits and ``. _ @ + -`` (an e-mail address is one), starting with a letter or digit.
LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
#: How stale a token's "last used" may be: it is written at most once a minute per token, so that an
#: agent's every report does not cost a write.
LAST_USED_RESOLUTION_S = 60.0
#: Password checks at once (each takes a core and 64 MiB for about 0.15 s).
CONCURRENT_PASSWORD_CHECKS = 2
#: The roles a proxy's group may grant, the most powerful first (a person in both groups is admin).
CITY_WIDE_ROLES_BY_POWER: tuple[Role, ...] = ("admin", "helpdesk")
#: Longest text of a login attempt kept in the audit log.
_MAX_AUDITED_LOGIN = 128


class AccountError(ValueError):
    """A change of users or tokens that cannot be made (the message says why)."""


class LoginThrottled(Exception):
    """Too many failed logins from this address or for this login lately."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ProxyLogin:
    """How the single sign-on's users get a role: ``group_roles`` maps the proxy's groups to a
    city-wide role, for people with neither an account nor a campus manager entry."""

    group_roles: Mapping[str, Role]


class Accounts:
    """Users, tokens, sessions and the audit log over the store.

    ``schools`` and ``managers`` are the collector's schools and schools.yaml's campus managers as
    loaded at start; ``session_s`` how long a login lasts.
    """

    def __init__(
        self,
        *,
        tokens: TokenStore,
        users: UserStore,
        audit: AuditStore,
        schools: Callable[[], Collection[School]],
        managers: Callable[[], Mapping[str, CampusManager]],
        clock: Callable[[], float],
        session_s: float = 12 * 3600.0,
        login_attempts: int = 10,
        proxy: ProxyLogin | None = None,
    ) -> None:
        self._tokens = tokens
        self._users = users
        self._audit = audit
        self._schools = schools
        self._managers = managers
        self._clock = clock
        self.session_s = session_s
        self._proxy = proxy
        self._throttle = LoginThrottle(limit=login_attempts)
        self._password_checks = asyncio.Semaphore(CONCURRENT_PASSWORD_CHECKS)
        self._last_used: dict[int, float] = {}
        self._key: str | None = None

    async def _session_key(self) -> str:
        if self._key is None:
            self._key = await self._users.session_key(new_key())
        return self._key

    # -- the audit log
    async def record(
        self,
        action: AuditAction,
        actor: str,
        *,
        school: str | None = None,
        target: str | None = None,
        detail: str = "",
        peer: str | None = None,
    ) -> None:
        """Write an entry of the audit log, now."""
        entry = AuditEntry(self._clock(), actor, action, school, target, detail, peer)
        await self._audit.add(entry)
        log.info("audit", extra={"action": action, "actor": actor, "school": school, "target": target})

    async def audit_page(
        self, *, before: int | None, limit: int, action: str | None = None, actor: str | None = None
    ) -> list[AuditRecord]:
        """Audit entries, newest first, with ids below ``before``."""
        return await self._audit.page(before=before, limit=limit, action=action, actor=actor)

    # -- tokens
    async def create_token(
        self, scope: TokenScope, *, school: str | None, name: str | None, actor: str, peer: str | None = None
    ) -> tuple[str, TokenRecord]:
        """A new token (the only copy of its secret) and its record. An ``agent`` token needs a known
        ``school``; the others name none. ``name`` says what uses it (default: the school, the scope)."""
        if scope == "room_link":
            raise AccountError("room links are made by rotating a school's room links, not as a token")
        if scope == "agent":
            known = {s.id for s in self._schools()}
            if school not in known:
                listed = ", ".join(sorted(known)) or "none; check schools_file in the config"
                raise AccountError(f"unknown school {school!r} (known: {listed})")
        elif school is not None:
            raise AccountError(f"a token of scope {scope!r} names no school (only agent tokens do)")
        label = (name or school or scope).strip()
        if not label or len(label) > 128 or not label.isprintable():
            raise AccountError("a token's name is 1 to 128 printable characters")
        secret = new_token()
        record = await self._tokens.add(
            hash_token(secret), scope=scope, school=school, name=label, created_at=self._clock()
        )
        await self.record(
            "token_created",
            actor,
            school=school,
            target=str(record.id),
            detail=f"scope {scope}, name {label}",
            peer=peer,
        )
        return secret, record

    # -- room links (campuswatch.collector.rooms)
    async def room_link_generation(self, school: str) -> int:
        """The generation of the school's room links: the id of its newest ``room_link`` record, 0 before
        the first rotation."""
        ids = [t.id for t in await self._tokens.all() if t.scope == "room_link" and t.school == school]
        return max(ids, default=0)

    async def room_link_key(self, school: str) -> str:
        """The key in the school's room links now."""
        return room_link_key(await self._session_key(), school, await self.room_link_generation(school))

    async def room_link_valid(self, school: str, given: str) -> bool:
        """Whether ``given`` is the school's room link key now (an older generation's is not)."""
        generation = await self.room_link_generation(school)
        return room_link_valid(await self._session_key(), school, generation, given)

    async def rotate_room_links(self, school: str, *, actor: str, peer: str | None = None) -> None:
        """Void every room link of ``school`` (the printed QR codes too): the next generation starts; in the
        audit log."""
        for token in await self._tokens.all():
            if token.scope == "room_link" and token.school == school:
                await self._tokens.revoke(token.id)
        # The record only counts generations: its secret opens nothing and is thrown away at once.
        record = await self._tokens.add(
            hash_token(new_token()), scope="room_link", school=school, name=school, created_at=self._clock()
        )
        await self.record("room_links_rotated", actor, school=school, target=str(record.id), peer=peer)

    async def tokens(self) -> list[TokenRecord]:
        """Every token (never the secret), in the order they were made."""
        return await self._tokens.all()

    async def revoke_token(self, token_id: int, *, actor: str, peer: str | None = None) -> TokenRecord | None:
        """Revoke a token: it works no more from now on. None if there is no such token."""
        revoked = await self._tokens.revoke(token_id)
        if revoked is not None:
            self._last_used.pop(token_id, None)
            await self.record(
                "token_revoked",
                actor,
                school=revoked.school,
                target=str(token_id),
                detail=f"scope {revoked.scope}, name {revoked.name}",
                peer=peer,
            )
        return revoked

    async def token(self, secret: str | None) -> TokenRecord | None:
        """The token a request's bearer secret is, or None; notes its use (to the minute)."""
        # Every token we make is URL-safe ASCII; a header's undecodable bytes arrive as surrogates.
        if not secret or len(secret) > MAX_TOKEN_LENGTH or not secret.isascii():
            return None
        record = await self._tokens.find(hash_token(secret))
        if record is None:
            return None
        now = self._clock()
        if now - self._last_used.get(record.id, -LAST_USED_RESOLUTION_S) >= LAST_USED_RESOLUTION_S:
            self._last_used[record.id] = now
            await self._tokens.mark_used(record.id, now)
        return record

    # -- users
    def _check_binding(self, role: Role, campus_manager: str | None, school: str | None) -> None:
        if role == "campus_manager":
            managers = self._managers()
            if campus_manager not in managers:
                listed = ", ".join(sorted(managers)) or "none; add campus_managers to schools.yaml"
                raise AccountError(
                    f"a campus manager user names their entry in schools.yaml (one of: {listed})"
                )
        elif campus_manager is not None:
            raise AccountError("only a campus manager user names a campus manager")
        if role == "school_contact":
            known = {s.id for s in self._schools()}
            if school not in known:
                listed = ", ".join(sorted(known)) or "none; check schools_file in the config"
                raise AccountError(f"a school contact user names their school (one of: {listed})")
        elif school is not None:
            raise AccountError("only a school contact user names a school")

    async def add_user(
        self,
        name: str,
        role: Role,
        *,
        campus_manager: str | None = None,
        school: str | None = None,
        password: str | None,
        actor: str,
    ) -> UserRecord:
        """Add a person's account; without ``password`` they sign in through single sign-on only."""
        if not LOGIN.match(name):
            raise AccountError(
                "a login is 1 to 128 letters, digits and . _ @ + -, starting with a letter or digit"
            )
        self._check_binding(role, campus_manager, school)
        hashed = await asyncio.to_thread(hash_password, password) if password is not None else None
        now = self._clock()
        user = UserRecord(name, role, campus_manager, school, hashed, 1, now, now)
        if not await self._users.add(user):
            raise AccountError(f"there is a user {name!r} already")
        bound = campus_manager or school
        await self.record(
            "user_added",
            actor,
            school=school,
            target=name,
            detail=f"role {role}"
            + (f" of {bound}" if bound else "")
            + ("" if hashed else ", single sign-on only"),
        )
        return user

    async def users(self) -> list[UserRecord]:
        """Every account, by name."""
        return await self._users.all()

    async def remove_user(self, name: str, *, actor: str) -> bool:
        """Remove an account (its sessions end with it); False if there is none."""
        removed = await self._users.remove(name)
        if removed:
            await self.record("user_removed", actor, target=name)
        return removed

    async def set_password(self, name: str, password: str, *, actor: str) -> UserRecord:
        """Give an account a new password; its sessions end."""
        user = await self._users.get(name)
        if user is None:
            raise AccountError(f"there is no user {name!r}")
        changed = replace(
            user,
            password_hash=await asyncio.to_thread(hash_password, password),
            generation=user.generation + 1,
            changed_at=self._clock(),
        )
        if not await self._users.replace(changed):
            raise AccountError(f"there is no user {name!r}")
        await self.record("user_changed", actor, target=name, detail="password changed, sessions ended")
        return changed

    # -- signing in
    async def login(self, name: str, password: str, *, peer: str | None) -> str:
        """Check a login and password; the session cookie's value. Raises :class:`LoginThrottled`, or
        :class:`AccountError` for a wrong login or password (which of the two is not said). Every
        attempt is in the audit log."""
        now = self._clock()
        keys = (f"peer:{peer}", f"login:{name}")
        audited = name[:_MAX_AUDITED_LOGIN]
        wait = self._throttle.retry_after(keys, now)
        if wait > 0:
            await self.record("login_failed", audited, detail="refused: too many failed logins", peer=peer)
            raise LoginThrottled(wait)
        user = await self._users.get(name) if LOGIN.match(name) else None
        async with self._password_checks:
            good = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        if user is None or not good:
            self._throttle.failed(keys, now)
            await self.record("login_failed", audited, detail="wrong login or password", peer=peer)
            raise AccountError("wrong login or password")
        self._throttle.succeeded(keys[1])
        session = Session(user.name, user.generation, new_sid(), now, now + self.session_s)
        await self.record("login", user.name, detail=f"role {user.role}, local account", peer=peer)
        return seal(session, await self._session_key())

    async def session_principal(self, cookie: str) -> Principal | None:
        """Who a session cookie is: None when it is not ours, expired, or its account changed or is gone."""
        session = unseal(cookie, await self._session_key(), self._clock())
        if session is None:
            return None
        user = await self._users.get(session.user)
        if user is None or user.generation != session.generation:
            return None
        return person(user, self._schools(), via="session", binding=f"session:{session.sid}")

    async def proxy_principal(self, login: str, groups: Collection[str]) -> Principal | None:
        """Who the single sign-on proxy says this is: their account if they have one, else the campus
        manager whose ``login`` or e-mail it is (compared without case), else the most a group of
        theirs grants; None when campuswatch knows no role for them."""
        user = await self._users.get(login) if LOGIN.match(login) else None
        if user is None:
            user = self._proxy_user(login, groups)
        if user is None:
            return None
        return person(user, self._schools(), via="proxy", binding=f"proxy:{login}")

    def _proxy_user(self, login: str, groups: Collection[str]) -> UserRecord | None:
        """An account, made up for this request, of someone the proxy vouches for without one of theirs."""
        folded = login.casefold()
        for manager in self._managers().values():
            if folded in {(manager.login or "").casefold(), (manager.email or "").casefold()}:
                return UserRecord(login, "campus_manager", manager.id, None, None, 0, 0.0, 0.0)
        granted = (
            {self._proxy.group_roles[g] for g in groups if g in self._proxy.group_roles}
            if self._proxy
            else set()
        )
        role = next((r for r in CITY_WIDE_ROLES_BY_POWER if r in granted), None)
        return None if role is None else UserRecord(login, role, None, None, None, 0, 0.0, 0.0)

    @staticmethod
    def token_principal(token: TokenRecord) -> Principal:
        """Who a request with this token is (an agent token's school is checked where reports come in)."""
        return machine(token.name, token.scope)

    async def csrf_token(self, binding: str) -> str:
        """The CSRF token of forms for ``binding`` (a principal's, or a login form's nonce)."""
        return csrf_token(await self._session_key(), binding)

    async def csrf_valid(self, binding: str, given: str) -> bool:
        """Whether a form's CSRF token is the one for ``binding``."""
        return csrf_valid(await self._session_key(), binding, given)
