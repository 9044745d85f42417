#!/usr/bin/env node
/** biosnoop's command: everything of it is declared in tool.ts. */
import { runEventTool } from '@bpf-recipes/cli';
import { tool } from './tool.js';

void runEventTool(tool);
