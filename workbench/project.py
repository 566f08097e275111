"""A workbench project: the store, and what combines it with media.

A project is a folder with ``workbench.db`` (SQLite) and the files the store keeps
(``media/`` for copied videos, ``stills/`` for exported frames), or a database URL
(PostgreSQL for a team) with an optional ``folder`` for those files. :func:`open_project`
opens either, migrating older databases to the newest schema with Alembic, and returns a
:class:`Project`.

:class:`Project` is the store (:class:`workbench.store.Store`: every record's methods) and the
few operations that need :mod:`workbench.media` too, which is why it sits above both:
registering a film probes it (:meth:`Project.add_recording`) and adding a still decodes a frame
(:meth:`Project.add_still`). A purge also removes the batch's results of the case.

Every edit is one transaction, committed when the method returns. Editable rows
carry a ``version`` (1 on insert, bumped by each update): pass the version you
edited as ``expected_version`` and an edit made meanwhile by someone else is
refused with :class:`~workbench.errors.ConflictError` instead of overwritten.
An edit without ``expected_version`` is an explicit "last writer wins", the
same on SQLite and PostgreSQL: it is applied atomically to the row as it is
when the edit runs, bumps the version, and the audit log records it (with
``expected_version`` null), so no write is lost from the record unseen.

A SQLite project whose database file is deleted or replaced while it is open
refuses the next transaction with :class:`~workbench.errors.DatabaseGoneError`;
one on a read-only folder or disk is opened read-only and refuses every edit
with :class:`~workbench.errors.ReadOnlyProjectError`.

Examples
--------
>>> from workbench import open_project
>>> with open_project(":memory:") as project:
...     case = project.add_case("Family A")
...     goal = project.add_goal(case, "More turn taking at dinner", 0, 10)
...     project.rate_goal(goal, "2026-01-15", 4).value
4.0
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import sqlalchemy as sa

from workbench.errors import MediaError, StoreError
from workbench.model import Moment, Recording, Session, Still
from workbench.scheme import CodingScheme
from workbench.store.kernel import Kernel, open_kernel, unlink_still
from workbench.store.recordings import RecordingFacts
from workbench.store.store import Store

__all__ = ["Project", "open_project"]


class Project(Store):
    """An open workbench project: its database and its folder of files.

    Create one with :func:`open_project`. Every ``add_*``, ``update_*`` and
    ``delete_*`` call is one transaction, committed when it returns. The methods
    are the store's (:class:`workbench.store.Store`), plus :meth:`add_recording`
    and :meth:`add_still`, which use :mod:`workbench.media`.

    Attributes
    ----------
    folder : Path or None
        Where copied media (``media/``) and stills (``stills/``) are kept.
    url : str
        The database URL (password hidden).
    coder : str
        Default coder name for new annotations.
    """


    def add_recording(
        self,
        session: Session | int,
        video_path: str | os.PathLike[str],
        *,
        copy: bool = True,
        label: str | None = None,
    ) -> Recording:
        """Register a video in a session: probe it, optionally copy it into ``<folder>/media/``.

        Parameters
        ----------
        session : Session or int
            The session the video was filmed in.
        video_path : str or path
            The video file.
        copy : bool
            Copy the file into the project (stored relative to the folder, named by
            its checksum so no original file name leaks); else store its absolute path.
        label : str, optional
            How reports and the review name the recording. Default: ``"<session label>,
            film N"`` (``"filming 2026-03-02, film 1"``), never the file's name: file names
            of family films often carry real names, which must not reach an export.

        Raises
        ------
        MediaError
            If the file is missing or not a readable video: an image (even one named ``.mp4``),
            a single frame, or a frame rate outside 1 to 1000 fps (nominal, over the duration, or
            between frames; see :func:`workbench.media.check_recording`). Nothing is stored.
        NotFoundError
            If the session does not exist.
        """
        from workbench import media

        sid = Kernel.id_of(session, "session", Session)
        self.kernel.writable()
        self.session(sid)  # fail before the (slow) probe
        src = Path(video_path).expanduser()
        if not src.is_file():
            raise MediaError(f"Expected a video file, but {src} does not exist or is not a file.")
        folder = self.kernel.need_folder("copied media") if copy else None
        info = media.probe(src)
        media.check_recording(info)  # before anything is copied or stored
        created: Path | None = None
        if folder is not None:
            media_dir = folder / "media"
            dest = media_dir / f"rec-{info.sha256[:16]}{src.suffix.lower()}"
            if not dest.exists():
                part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
                try:
                    media_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, part)
                    os.replace(part, dest)
                except OSError as exc:
                    part.unlink(missing_ok=True)
                    raise StoreError(f"Could not copy {src} into {media_dir}: {exc}") from exc
                created = dest
            stored = dest.relative_to(folder).as_posix()
        else:
            stored = str(src.resolve())
        try:
            return self.repos.recordings.register(
                sid,
                RecordingFacts.of(info),
                path=stored,
                label=label,
                original_name=src.name if copy else None,  # protected: exports are checked against it
            )
        except BaseException:
            if created is not None:
                created.unlink(missing_ok=True)
            raise

    def add_still(
        self, recording: Recording | int, time_ms: int, caption: str = "", moment: Moment | int | None = None
    ) -> Still:
        """Save the exact frame at ``time_ms`` as a PNG in ``<folder>/stills/`` and store it.

        :func:`workbench.media.write_still` writes the PNG and a JSON sidecar beside it
        (source checksum, frame index and time, caption). If writing the image fails nothing
        is stored; if storing fails the image is removed.

        Raises
        ------
        MediaError
            If the frame cannot be read or written.
        ValueError
            If ``time_ms`` is outside the recording or the moment is of another recording.
        """
        from workbench import media

        plan = self.repos.moments.plan_still(recording, time_ms, caption, moment)
        video = self.media_path(plan.recording)
        out = plan.path
        try:
            # Probe without hashing the whole video again: the sidecar names the registered checksum.
            info = dataclasses.replace(media.probe(video, checksum=False), sha256=plan.recording.sha256)
            media.write_still(video, plan.time_ms, out, caption=plan.caption, info=info)
        except BaseException:
            unlink_still(out)
            raise
        if not out.is_file():
            unlink_still(out)
            raise MediaError(
                f"Expected a still image at {out}, but writing the frame at {plan.time_ms} ms produced none."
            )
        try:
            return self.repos.moments.register_still(plan)
        except BaseException:
            unlink_still(out)
            raise


def open_project(
    path_or_url: str | os.PathLike[str] | sa.URL,
    create: bool = False,
    *,
    folder: str | os.PathLike[str] | None = None,
    coder: str | None = None,
    scheme: CodingScheme | None = None,
) -> Project:
    """Open a project folder or a database URL (or create it with ``create=True``).

    Parameters
    ----------
    path_or_url : str, path or sqlalchemy.URL
        - a folder: the project folder (``workbench.db`` inside, plus ``media/``
          and ``stills/``); the path of a ``.db`` file opens its folder;
        - a URL (``postgresql+psycopg://user@host/db``, ``sqlite:///file.db``, any
          SQLAlchemy URL): the database; files go into ``folder``;
        - ``":memory:"``: a new in-memory SQLite database with a temporary folder
          that is removed on :meth:`Project.close` (for tests and trials).
    create : bool
        Create the project (folder and/or tables) if it does not exist. Opening
        an existing project with ``create=True`` just opens it.
    folder : str or path, optional
        For a URL: the folder for copied media and stills (shared by the team).
    coder : str, optional
        Who is editing: the default coder of new annotations and the name in the
        audit log. Else the ``WORKBENCH_CODER`` environment variable; else ``coder``
        in the project folder's ``workbench.toml``; else the operating-system user name.
    scheme : CodingScheme, optional
        The coding scheme stored in a new project (default:
        :func:`workbench.scheme.default_scheme`). Ignored, with a warning, for an
        existing project with another scheme: use :meth:`Project.set_scheme`.

    Returns
    -------
    Project
        Use it as a context manager, or call :meth:`Project.close`.

    Raises
    ------
    NotFoundError
        If the project does not exist and ``create`` is false.
    SchemaVersionError
        If the database was written by a newer workbench (unknown schema revision).
    StoreError
        If the database cannot be reached or is not a workbench database.

    Examples
    --------
    >>> import workbench
    >>> with workbench.open_project(":memory:", coder="anna") as project:
    ...     project.coder
    'anna'
    """
    return Project(open_kernel(path_or_url, create, folder=folder, coder=coder, scheme=scheme))
