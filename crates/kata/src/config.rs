//! `.kata/kata.toml`: the modes, their phases, tasks and gates, and their stop conditions.
//!
//! ```toml
//! [tests]                       # the repository's tests, for the `tests_pass` stop condition
//! run = "cargo test"
//! timeout = 1800                # seconds (default 300)
//!
//! [modes.task]
//! context = "What this mode is for; `kata prime` prints it."
//! stop = ["tasks_done", "tests_pass", "committed", "evidence"]
//!
//! [[modes.task.phases]]
//! id = "do"
//! title = "Make the change"
//! context = "Printed by `kata prime` while this phase is active."
//! tasks = [
//!   { id = "change", title = "Make the change" },
//!   { id = "check", title = "Exercise it on the running system", depends_on = ["change"] },
//! ]
//! gates = [{ run = "cargo test", expect_exit = 0, timeout = 900 }]
//! ```
//!
//! Unknown keys are refused (a typo must not silently drop a gate). Task ids are unique within a
//! mode, and a task may depend only on tasks of its own or an earlier phase, with no cycles, so
//! every task can be reached in order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use shared_types::kata::{KataGate, StopCondition};

use crate::error::{KataError, Result};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub tests: Option<GateConfig>,
    pub modes: BTreeMap<String, ModeConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeConfig {
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub stop: Vec<StopCondition>,
    pub phases: Vec<PhaseConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseConfig {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub tasks: Vec<TaskConfig>,
    #[serde(default)]
    pub gates: Vec<GateConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `{run, expect_exit, timeout}`; `timeout` is in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub run: String,
    #[serde(default)]
    pub expect_exit: i32,
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

fn default_timeout() -> u64 {
    300
}

impl GateConfig {
    /// The gate as a session's state carries it, not yet run.
    pub fn to_gate(&self) -> KataGate {
        KataGate {
            run: self.run.clone(),
            expect_exit: self.expect_exit,
            timeout_secs: self.timeout,
            last: None,
        }
    }
}

/// The config `kata init` writes: six modes, with `{{tests}}` standing for the test command.
const DEFAULT_CONFIG: &str = include_str!("default_kata.toml");

/// The default config with `tests` as the repository's test command.
pub fn default_config(tests: &str) -> String {
    DEFAULT_CONFIG.replace(
        "{{tests}}",
        &tests.replace('\\', "\\\\").replace('"', "\\\""),
    )
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(KataError::io(path))?;
        Config::parse(&text).map_err(|message| KataError::ConfigInvalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and validates the text of a kata.toml.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// The mode called `name`.
    pub fn mode(&self, name: &str) -> Result<&ModeConfig> {
        self.modes.get(name).ok_or_else(|| KataError::UnknownMode {
            mode: name.to_string(),
            known: self.modes.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    fn validate(&self) -> Result<(), String> {
        if self.modes.is_empty() {
            return Err("it defines no modes ([modes.<name>])".into());
        }
        if let Some(tests) = &self.tests {
            check_gate(tests).map_err(|e| format!("[tests]: {e}"))?;
        }
        for (name, mode) in &self.modes {
            mode.validate().map_err(|e| format!("mode `{name}`: {e}"))?;
            if mode.stop.contains(&StopCondition::TestsPass) && self.tests.is_none() {
                return Err(format!(
                    "mode `{name}` stops on `tests_pass` but there is no [tests] run = \"...\""
                ));
            }
        }
        Ok(())
    }
}

impl ModeConfig {
    fn validate(&self) -> Result<(), String> {
        if self.phases.is_empty() {
            return Err("it has no phases".into());
        }
        let mut phase_ids = HashSet::new();
        // Task id -> index of its phase; filled phase by phase, so a dependency on a later
        // phase's task is reported as unknown.
        let mut task_phase: HashMap<&str, usize> = HashMap::new();
        for (index, phase) in self.phases.iter().enumerate() {
            if !phase_ids.insert(phase.id.as_str()) {
                return Err(format!("phase id `{}` is used twice", phase.id));
            }
            for (n, gate) in phase.gates.iter().enumerate() {
                check_gate(gate)
                    .map_err(|e| format!("phase `{}`, gate {}: {e}", phase.id, n + 1))?;
            }
            for task in &phase.tasks {
                if task_phase.insert(task.id.as_str(), index).is_some() {
                    return Err(format!("task id `{}` is used twice", task.id));
                }
            }
            for task in &phase.tasks {
                if let Some(dep) = task
                    .depends_on
                    .iter()
                    .find(|d| !task_phase.contains_key(d.as_str()))
                {
                    return Err(format!(
                        "task `{}` depends on `{dep}`, which is not a task of this phase or an earlier one",
                        task.id
                    ));
                }
            }
            check_acyclic(&phase.tasks).map_err(|e| format!("phase `{}`: {e}", phase.id))?;
        }
        Ok(())
    }
}

fn check_gate(gate: &GateConfig) -> Result<(), String> {
    if gate.run.trim().is_empty() {
        return Err("`run` is empty".into());
    }
    if gate.timeout == 0 {
        return Err("`timeout` must be at least 1 second".into());
    }
    Ok(())
}

/// Dependencies within one phase must not form a cycle (across phases they only point back).
fn check_acyclic(tasks: &[TaskConfig]) -> Result<(), String> {
    let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    let edges: Vec<Vec<&str>> = tasks
        .iter()
        .map(|t| {
            t.depends_on
                .iter()
                .map(String::as_str)
                .filter(|d| ids.contains(d))
                .collect()
        })
        .collect();
    let mut done: HashSet<&str> = HashSet::new();
    while done.len() < ids.len() {
        let ready: Vec<&str> = ids
            .iter()
            .zip(&edges)
            .filter(|(id, deps)| !done.contains(**id) && deps.iter().all(|d| done.contains(d)))
            .map(|(id, _)| *id)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !done.contains(id))
                .collect();
            return Err(format!(
                "tasks {} depend on each other in a cycle",
                stuck.join(", ")
            ));
        }
        done.extend(ready);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(tasks: &str) -> String {
        format!("[modes.m]\n[[modes.m.phases]]\nid = \"a\"\ntitle = \"A\"\ntasks = [{tasks}]\n")
    }

    #[test]
    fn the_default_config_parses_with_six_modes() {
        let config = Config::parse(&default_config("cargo test \"-p\" x")).expect("default parses");
        let modes: Vec<&str> = config.modes.keys().map(String::as_str).collect();
        assert_eq!(
            modes,
            [
                "freeform",
                "implementation",
                "planning",
                "research",
                "task",
                "verify"
            ]
        );
        assert_eq!(
            config.tests.map(|t| t.run),
            Some("cargo test \"-p\" x".to_string())
        );
    }

    #[test]
    fn cycles_unknown_dependencies_and_typos_are_refused() {
        let cycle =
            mode(r#"{id="x",title="X",depends_on=["y"]},{id="y",title="Y",depends_on=["x"]}"#);
        assert!(Config::parse(&cycle).unwrap_err().contains("cycle"));
        let unknown = mode(r#"{id="x",title="X",depends_on=["nope"]}"#);
        assert!(Config::parse(&unknown).unwrap_err().contains("`nope`"));
        let typo = mode(r#"{id="x",title="X",depend_on=["y"]}"#);
        assert!(Config::parse(&typo).unwrap_err().contains("depend_on"));
        let twice = mode(r#"{id="x",title="X"},{id="x",title="again"}"#);
        assert!(Config::parse(&twice).unwrap_err().contains("used twice"));
        let ok = mode(r#"{id="x",title="X"},{id="y",title="Y",depends_on=["x"]}"#);
        assert!(Config::parse(&ok).is_ok());
    }

    #[test]
    fn this_repositorys_config_parses() {
        let config = Config::parse(include_str!("../../../.kata/kata.toml")).expect("parses");
        assert_eq!(
            config.tests.map(|t| t.run),
            Some("scripts/test.sh".to_string())
        );
        assert_eq!(config.modes.len(), 6);
    }

    #[test]
    fn tests_pass_needs_a_test_command() {
        let text =
            "[modes.m]\nstop = [\"tests_pass\"]\n[[modes.m.phases]]\nid = \"a\"\ntitle = \"A\"\n";
        assert!(Config::parse(text).unwrap_err().contains("[tests]"));
    }
}
