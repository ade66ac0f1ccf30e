// Where a scale-out run's chunk files live for every host: the interface the coordinator and the
// workers use, and its one implementation so far, a directory every host mounts (NFS, a cluster
// file system). An object store (s3://, gs://) is another implementation of the same three calls.

import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Errors } from '../../config/errors.ts';

export interface SharedStorage {
  /** How logs and reports name it. */
  readonly shown: string;
  /** The local directory the coordinator's spilled load writes a job's chunks into (made by the caller). */
  jobDir(job: string): string;
  /** A chunk file's name in the storage, from where the coordinator wrote it. */
  nameOf(localPath: string): string;
  /** A chunk file's bytes, by its name in the storage (a worker's read); refused if larger than maxBytes. */
  read(name: string, maxBytes: number): Uint8Array;
}

/** The storage `spec` names: a directory (or file:///DIR). Other schemes are refused, for now. */
export function openStorage(spec: string): SharedStorage {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec);
  if (m !== null && m[1]!.toLowerCase() !== 'file') {
    throw Errors.Usage(`--cluster-storage ${JSON.stringify(spec)}: ${m[1]}:// is not supported yet; give a directory every host mounts`);
  }
  return directoryStorage(m === null ? spec : fileURLToPath(spec));
}

function directoryStorage(dir: string): SharedStorage {
  const root = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw Errors.MissingInput(root, '--cluster-storage: not a directory');
  return {
    shown: root,
    jobDir: (job) => join(root, `job-${job}`),
    nameOf: (localPath) => relative(root, resolve(localPath)).split(sep).join('/'),
    read: (name, maxBytes) => {
      const file = resolve(root, ...name.split('/'));
      if (!file.startsWith(root + sep)) throw new Error(`chunk ${name} leaves the storage`);
      // one open file for the size and the read: a file swapped between the two cannot pass unchecked
      const fd = openSync(file, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size > maxBytes) throw new Error(`chunk ${name}: ${size} bytes, more than the ${maxBytes} its task allows`);
        const bytes = new Uint8Array(size);
        let at = 0;
        while (at < size) {
          const n = readSync(fd, bytes, at, size - at, at);
          if (n === 0) throw new Error(`chunk ${name}: cut short at byte ${at} of ${size} while read`);
          at += n;
        }
        return bytes;
      } finally {
        closeSync(fd);
      }
    },
  };
}
