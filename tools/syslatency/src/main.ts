#!/usr/bin/env node
/** syslatency's command: everything of it is declared in tool.ts. */
import { runAggregationTool } from '@bpf-recipes/cli';
import { tool } from './tool.js';

void runAggregationTool(tool);
