// doctor: placeholder while it is written.
import type { Command } from 'commander';
import type { Io } from './io.js';

export function registerDoctor(_program: Command, _io: Io): void {}
