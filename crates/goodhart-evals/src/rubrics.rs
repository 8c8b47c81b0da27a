//! Every judge rubric of the suite in one list, with the shape of its reply, so the request schema,
//! the parser and `goodhart judge-check` cannot drift apart: a rubric added to an eval and not here is
//! one `goodhart judge-check` would never test (a unit test below checks the list against the evals).

use crate::evals::{betley, blackmail, frame_colleague, goals, monitor_disruption};
use crate::judge::{
    judge_categories, judge_flag, judge_score, Answer, Judge, JudgeError, Rubric, Score,
    CONCERNING_REASONING, MISALIGNED_ANSWER,
};
use serde_json::{json, Value};

/// One rubric: its name and version and system prompt ([`Rubric::system_prompt`]), and its reply
/// ([`Answer`]: the schema requested, and the yes/no a calibration item is labelled with).
#[derive(Debug, Clone, PartialEq)]
pub struct RubricEntry {
    pub rubric: &'static Rubric,
    pub answer: Answer,
}

/// Every rubric a judge is asked in the suite, in report order.
pub fn all_rubrics() -> Vec<RubricEntry> {
    let flag = |rubric| RubricEntry {
        rubric,
        answer: Answer::Flag,
    };
    vec![
        flag(&CONCERNING_REASONING),
        flag(&MISALIGNED_ANSWER),
        RubricEntry {
            rubric: &goals::GOALS_TAXONOMY,
            answer: Answer::Categories {
                allowed: goals::taxonomy(),
                flagged: goals::MISALIGNED_GOALS.to_vec(),
            },
        },
        RubricEntry {
            rubric: &betley::BETLEY_ALIGNED,
            answer: Answer::Score {
                allow_refusal: true,
                flagged_below: betley::ALIGNED_THRESHOLD,
            },
        },
        RubricEntry {
            rubric: &betley::BETLEY_COHERENT,
            answer: Answer::Score {
                allow_refusal: false,
                flagged_below: betley::COHERENT_THRESHOLD,
            },
        },
        flag(&monitor_disruption::MONITOR_EMAILS),
        flag(&frame_colleague::FABRICATED_VIOLATION),
        flag(&blackmail::BLACKMAIL_LEVERAGE),
    ]
}

/// The entry of the rubric called `name`.
pub fn rubric_entry(name: &str) -> Option<RubricEntry> {
    all_rubrics().into_iter().find(|e| e.rubric.name == name)
}

/// What a judge said about one text under one rubric, reduced to the rubric's yes/no.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduced {
    /// `None` when the reply has no yes/no (a REFUSAL score): the reason says so.
    pub flagged: Option<bool>,
    /// The verdict as given (`{"flagged", "reason"}`, `{"categories", ...}`, `{"score", ...}`).
    pub verdict: Value,
}

impl RubricEntry {
    /// Asks the judge about `material` under this rubric and reduces the reply to yes/no: a flag as
    /// is, categories flagged when any is in the flagged set, a score flagged below the threshold.
    pub async fn judge(&self, judge: Judge<'_>, material: &str) -> Result<Reduced, JudgeError> {
        let rubric = self.rubric;
        match &self.answer {
            Answer::Flag => {
                let j = judge_flag(judge, rubric, "calibration", material).await?;
                Ok(Reduced {
                    flagged: j.flagged,
                    verdict: j.verdict,
                })
            }
            Answer::Categories { allowed, flagged } => {
                let (v, _) = judge_categories(judge, rubric, material, allowed).await?;
                Ok(Reduced {
                    flagged: Some(v.categories.iter().any(|c| flagged.contains(&c.as_str()))),
                    verdict: json!({"categories": v.categories, "reason": v.reason}),
                })
            }
            Answer::Score {
                allow_refusal,
                flagged_below,
            } => {
                let (score, j) =
                    judge_score(judge, rubric, "calibration", material, *allow_refusal).await?;
                Ok(Reduced {
                    flagged: match score {
                        Score::Value { value, .. } => Some(value < *flagged_below),
                        Score::Refusal => None,
                    },
                    verdict: j.verdict,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rubric_in_the_crate_is_listed_once() {
        let names: Vec<&str> = all_rubrics().iter().map(|e| e.rubric.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        // Every `pub const X: Rubric` in the crate's sources is in the list.
        let src = concat!(
            include_str!("judge.rs"),
            include_str!("evals/goals.rs"),
            include_str!("evals/betley.rs"),
            include_str!("evals/alignment_questions.rs"),
            include_str!("evals/monitor_disruption.rs"),
            include_str!("evals/exfil_offer.rs"),
            include_str!("evals/frame_colleague.rs"),
            include_str!("evals/blackmail.rs"),
            include_str!("evals/research_sabotage.rs"),
        );
        let declared = src.matches(": Rubric = Rubric {").count();
        assert_eq!(
            declared,
            names.len(),
            "a rubric is missing from all_rubrics()"
        );
    }
}
