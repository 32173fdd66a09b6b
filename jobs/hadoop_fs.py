"""Result files through the Hadoop FileSystem API of the active Spark session (file://, hdfs://, s3a://, ...).

The same complete-or-absent rule as for local folders (jobs.io): files are written into a hidden
sibling folder that is renamed into place, and the empty _SUCCESS marker is written last. On HDFS
and local disks the rename is atomic. On object stores (s3a, gs, abfs, ...) a folder rename is a
copy, so readers (read_folder) accept a folder only once its marker is there, and a replacement
removes the old marker before anything else changes.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from pyspark import SparkContext

from constraints.errors import InputNotFound, UsageError

SUCCESS = "_SUCCESS"
FEW_FILES = 50   # read_matching: more files than this are read by one Spark job
OBJECT_STORES = ("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss", "cosn", "obs")


class HadoopFiles:
    """Reads and writes small text files on Hadoop filesystems from the driver."""

    def __init__(self, sc: SparkContext):
        self._sc = sc
        self._jvm = sc._jvm
        self._conf = sc._jsc.hadoopConfiguration()

    @classmethod
    def of_active_session(cls) -> "HadoopFiles":
        sc = SparkContext._active_spark_context
        if sc is None:
            raise UsageError("Writing to a Hadoop URI needs a running Spark session.",
                             "call this from a dqloop job, or give a plain local path")
        return cls(sc)

    def _path(self, uri: str):
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(self._conf)
        fs.setWriteChecksum(False)  # no .crc side files on file://
        return path, fs

    def _child(self, parent, name: str):
        return self._jvm.org.apache.hadoop.fs.Path(parent, name)

    def _write(self, fs, path, text: str) -> None:
        out = fs.create(path, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()

    def _rename(self, fs, src, dst) -> None:
        if not fs.rename(src, dst):
            raise OSError(f"could not rename {src.toString()} to {dst.toString()}")

    def write_file(self, uri: str, text: str) -> None:
        """One file, complete or absent: a hidden temporary name, then renamed over the target."""
        target, fs = self._path(uri)
        fs.mkdirs(target.getParent())
        staging = self._child(target.getParent(), f".{target.getName()}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            self._write(fs, staging, text)
            if fs.exists(target):
                fs.delete(target, False)  # Hadoop's rename never replaces a file
            self._rename(fs, staging, target)
        finally:
            if fs.exists(staging):
                fs.delete(staging, False)

    def write_folder(self, uri: str, files: dict[str, str]) -> None:
        target, fs = self._path(uri)
        parent = target.getParent()
        fs.mkdirs(parent)
        token = uuid.uuid4().hex[:8]
        staging = self._child(parent, f".{target.getName()}.tmp-{token}")
        old = self._child(parent, f".{target.getName()}.old-{token}")
        try:
            for name, text in files.items():
                self._write(fs, self._child(staging, name), text)
            if fs.exists(target):
                fs.delete(self._child(target, SUCCESS), False)
                self._rename(fs, target, old)
            self._rename(fs, staging, target)
            self._write(fs, self._child(target, SUCCESS), "")
        finally:
            if fs.exists(staging):
                fs.delete(staging, True)
        if fs.exists(old):
            fs.delete(old, True)

    def read_folder(self, uri: str, names: tuple[str, ...]) -> dict[str, str]:
        folder, fs = self._path(uri)
        if not fs.exists(folder):
            raise InputNotFound(f"Folder {uri} does not exist.", "check the path")
        if urlparse(uri).scheme in OBJECT_STORES and not fs.exists(self._child(folder, SUCCESS)):
            raise UsageError(f"Folder {uri} has no {SUCCESS} marker: it is incomplete (its writer may still be "
                             "copying it, or it failed).",
                             f"wait for the job that writes it to finish or rerun it; a folder copied by hand "
                             f"needs an empty {SUCCESS} file once complete")
        docs = {}
        for name in names:
            path = self._child(folder, name)
            if fs.exists(path):
                docs[name] = self._read(fs, path)
        return docs

    def read_matching(self, uri: str, suffix: str) -> dict[str, str]:
        """{name: text} of the files in a folder whose names end with `suffix` ({} if there is no folder).
        Many files (a metrics history) are read by one Spark job (wholeTextFiles): a file at a time costs a
        few Py4J calls each, seconds for thousands of files; the job reads them in the JVM, on executors."""
        folder, fs = self._path(uri)
        if not fs.exists(folder):
            return {}
        matches = fs.globStatus(self._child(folder, "*" + suffix)) or []
        if len(matches) > FEW_FILES:
            pairs = self._sc.wholeTextFiles(f"{str(uri).rstrip('/')}/*{suffix}").collect()
            return {name: text for name, text in ((p.rsplit("/", 1)[-1], t) for p, t in pairs)
                    if name.endswith(suffix) and not name.startswith(".")}
        return {st.getPath().getName(): self._read(fs, st.getPath()) for st in matches
                if st.isFile() and st.getPath().getName().endswith(suffix)
                and not st.getPath().getName().startswith(".")}

    def _read(self, fs, path) -> str:
        stream = fs.open(path)
        try:
            data = self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
        finally:
            stream.close()
        return bytes(data).decode("utf-8")
