import type { CommandMain } from '../run.js';
import { blobPutMain } from './img-blob-put.js';
import { manifestMain } from './img-manifest.js';
import { refMain } from './img-ref.js';
import { signMain } from './img-sign.js';
import { tagsMain } from './img-tags.js';

/** STAGE_COMMANDS are the commands img-copy and img-sync run as stages, by name: the same work as the command run from a shell. */
export const STAGE_COMMANDS: Readonly<Record<string, CommandMain>> = {
  'img-tags': tagsMain,
  'img-ref': refMain,
  'img-manifest': manifestMain,
  'img-blob-put': blobPutMain,
  'img-sign': signMain,
};
