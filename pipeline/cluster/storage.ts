// Where a scale-out run's chunk files live for every host: the interface the coordinator and the
// workers use, and its one implementation so far, a directory every host mounts (NFS, a cluster
// file system). An object store (s3://, gs://) is another implementation of the same three calls.

import { readFileSync, statSync } from 'node:fs';
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
      const size = statSync(file).size;
      if (size > maxBytes) throw new Error(`chunk ${name}: ${size} bytes, more than the ${maxBytes} its task allows`);
      return readFileSync(file);
    },
  };
}
