// Loaded into Pulumi's dynamic-provider host before it starts (`node --require` this file): the
// host exits when the engine that started it is gone (its stdin, a pipe from the engine, closes),
// instead of working on and changing routers for a run nobody will record. Plain JavaScript: it is
// loaded before anything could compile TypeScript.
"use strict";
process.stdin.on("end", () => process.exit(70));
process.stdin.on("error", () => process.exit(70));
process.stdin.resume();
