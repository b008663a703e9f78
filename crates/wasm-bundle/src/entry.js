// The Worker's entry module, written by crates/wasm-bundle around wasm-bindgen's glue (./index.js)
// and bundled by esbuild into build/index.js.
//
// Recovery from a trap: a Rust panic is a trap (panic=immediate-abort) and leaves the wasm
// instance's memory in an unknown state. The `worker` crate keeps a shared state object
// ({ criticalError, instanceId }); a trap sets `criticalError`, and the next call into Rust first
// resets the instance (wasm-bindgen's reset-state function) and bumps `instanceId`, so that every
// Durable Object rebuilds its Rust side (from its SQLite storage, as after an eviction) before it
// handles anything.
import { WorkerEntrypoint } from "cloudflare:workers";
import * as glue from "./index.js";

const state = glue.__worker_init_state();

function resetIfTrapped() {
  if (state.criticalError) {
    console.log("a trap poisoned the wasm instance: resetting it");
    glue.__wbg_reset_state();
    state.criticalError = false;
    state.instanceId++;
  }
}

function noteTrap(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    console.error("trap", e);
    state.criticalError = true;
  }
  throw e;
}

addEventListener("error", (e) => {
  if (e.error instanceof WebAssembly.RuntimeError) state.criticalError = true;
});

/** Runs `call` (sync or async) after a pending reset, and notes a trap it ends in. */
function guarded(call) {
  resetIfTrapped();
  try {
    const out = call();
    return out instanceof Promise ? out.catch(noteTrap) : out;
  } catch (e) {
    noteTrap(e);
  }
}

/** A Durable Object class around a wasm-bindgen one: the Rust object is rebuilt after a reset. */
function durableObject(Inner) {
  class Outer {
    constructor(...args) {
      this.args = args;
      this.instanceId = -1;
      guarded(() => this.inner());
    }
    inner() {
      if (this.instanceId !== state.instanceId) {
        this.rust = new Inner(...this.args);
        this.instanceId = state.instanceId;
      }
      return this.rust;
    }
  }
  for (const name of Object.getOwnPropertyNames(Inner.prototype)) {
    const d = Object.getOwnPropertyDescriptor(Inner.prototype, name);
    if (name === "constructor" || name === "free" || name.startsWith("__") || typeof d.value !== "function") continue;
    Outer.prototype[name] = function (...args) {
      return guarded(() => this.inner()[name](...args));
    };
  }
  return Outer;
}

export default class Entrypoint extends WorkerEntrypoint {}
/*HANDLERS*/
/*CLASSES*/
