//! The words of the manufacturer's investigation view, code search and recall forms, both
//! languages key by key like [`super::i18n`] (declared with its [`words!`] macro). They live in
//! their own table because only these pages use them; [`super::i18n::Texts`] keeps the words shared
//! across pages. A missing translation is a compile error here too: every key is a field with both
//! languages, and steps, outcomes and note actions are matched exhaustively. Only a note's stored
//! action word is looked up by name ([`CaseTexts::action`]).

use registry::Resolution;
use registry::event::{Basis, Outcome, Step};

use super::i18n::{Lang, StepWords, words};

/// The dashboard action a note was written with, stored beside the note as its word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteAction {
    Investigating,
    Resolved(Resolution),
    Recall,
    LotRecall,
}

impl NoteAction {
    /// The word stored with the note: the dashboard form's `action` value.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteAction::Investigating => "investigating",
            NoteAction::Resolved(resolution) => resolution.as_str(),
            NoteAction::Recall => "recall",
            NoteAction::LotRecall => "lot_recall",
        }
    }

    pub fn parse(word: &str) -> Option<NoteAction> {
        match word {
            "investigating" => Some(NoteAction::Investigating),
            "recall" => Some(NoteAction::Recall),
            "lot_recall" => Some(NoteAction::LotRecall),
            other => Resolution::parse(other).map(NoteAction::Resolved),
        }
    }
}

words! {
    /// Each [`NoteAction`] in words.
    pub struct ActionWords {
        investigating { zh: "标记为调查中",
                        en: "Marked investigating" }
        genuine { zh: "结案：正品",
                  en: "Resolved: genuine" }
        counterfeit { zh: "结案：假货",
                      en: "Resolved: counterfeit" }
        recall { zh: "召回此件",
                 en: "Recalled the part" }
        lot_recall { zh: "召回整批",
                     en: "Recalled the lot" }
    }
}

impl ActionWords {
    fn of(&self, action: NoteAction) -> &'static str {
        match action {
            NoteAction::Investigating => self.investigating,
            NoteAction::Resolved(Resolution::Genuine) => self.genuine,
            NoteAction::Resolved(Resolution::Counterfeit) => self.counterfeit,
            NoteAction::Recall => self.recall,
            NoteAction::LotRecall => self.lot_recall,
        }
    }
}

words! {
    pub struct CaseTexts {
        title { zh: "编码调查",
                en: "Code investigation" }
        back { zh: "返回看板",
               en: "Back to the dashboard" }
        find { zh: "查找编码",
               en: "Find a code" }
        find_hint { zh: "输入您的任意一个编码的 GTIN 和序列号，查看它的完整记录。",
                    en: "Type the GTIN and serial of any of your codes to see its whole history." }
        find_button { zh: "查找",
                      en: "Find" }
        gtin { zh: "GTIN（商品编码）",
               en: "GTIN (product number)" }
        serial { zh: "序列号",
                 en: "Serial number" }
        not_yours { zh: "您登记的编码中没有这个 GTIN 和序列号。",
                    en: "No code of yours has this GTIN and serial." }
        lot { zh: "批号",
              en: "Lot" }
        no_lot { zh: "无批号",
                 en: "no lot" }
        custody_now { zh: "当前保管",
                      en: "Custody now" }
        open_alert { zh: "这个编码有待处理的警报。",
                     en: "This code has an open alert." }
        no_alert { zh: "这个编码没有待处理的警报。",
                   en: "No open alert on this code." }
        investigate { zh: "调查",
                      en: "Investigate" }
        involves { zh: "涉及",
                   en: "Involves" }
        // The timeline.
        history { zh: "流转记录",
                  en: "History" }
        col_when { zh: "时间",
                   en: "When" }
        col_step { zh: "步骤",
                   en: "Step" }
        col_party { zh: "参与方",
                    en: "Party" }
        col_basis { zh: "方式",
                    en: "How" }
        col_outcome { zh: "结果",
                      en: "Outcome" }
        /// `{vin}`: the VIN's last six characters.
        in_vehicle { zh: "车辆 …{vin}",
                     en: "vehicle …{vin}" }
        /// `{name}`: the party shipped to.
        shipped_to { zh: "发往 {name}",
                     en: "to {name}" }
        /// `{sscc}`: the carton (or pallet) whose label moved the part, by its 18 digits.
        through_carton { zh: "随箱 {sscc}",
                         en: "in carton {sscc}" }
        /// A correction's row: which event it undid.
        undoes { zh: "撤销事件 #{seq}（{step}）",
                 en: "Undoes event #{seq} ({step})" }
        /// The station's steps, but in Chinese the investigation says 安装 (installed) where
        /// the station says 装车 (fitted to a car).
        steps: StepWords {
            zh: StepWords { installing: "安装", ..StepWords::ZH },
            en: StepWords::EN,
        }
        scanned { zh: "扫描标签",
                  en: "label scanned" }
        typed { zh: "手动输入号码",
                en: "numbers typed" }
        /// A move recorded by scanning the carton's label, not the part's own.
        carton_label { zh: "扫描箱标",
                       en: "carton label scanned" }
        legacy { zh: "旧记录",
                 en: "older record" }
        applied { zh: "已执行",
                  en: "applied" }
        repeated { zh: "重复",
                   en: "repeated" }
        evidence { zh: "冲突证据",
                   en: "evidence of a copy" }
        claim { zh: "声明（无效力）",
                en: "claim (no effect)" }
        refused { zh: "被拒绝",
                  en: "refused" }
        // The copies.
        copies { zh: "相互冲突的几件",
                 en: "The conflicting copies" }
        custody_copy { zh: "保管记录中的这一件",
                       en: "Where custody has the part" }
        conflicting_copy { zh: "冲突的一件",
                           en: "Conflicting copy" }
        // Claims.
        claims { zh: "其他参与方的声明和被拒绝的操作",
                 en: "Claims and refused attempts by other parties" }
        no_claims { zh: "没有。",
                    en: "None." }
        // Scans.
        scans { zh: "公众扫描",
                en: "Public scans" }
        scans_total { zh: "扫描总次数",
                      en: "Scans in all" }
        /// `{hours}`: the scan window.
        scans_networks { zh: "近 {hours} 小时内的不同网络",
                         en: "Networks in the last {hours} hours" }
        scans_regions { zh: "扫描地区",
                        en: "Regions scanned from" }
        scans_days { zh: "每日扫描",
                     en: "Scans per day" }
        no_scans { zh: "还没有公众扫描。",
                   en: "No public scans yet." }
        // Reports and notes.
        reports { zh: "关于这个编码的公众举报",
                  en: "Public reports on this code" }
        no_reports { zh: "没有举报。",
                     en: "No reports." }
        notes { zh: "备注",
                en: "Notes" }
        no_notes { zh: "还没有备注。",
                   en: "No notes yet." }
        note_required { zh: "备注（必填）",
                        en: "Note (required)" }
        actions: ActionWords { zh: ActionWords::ZH,
                               en: ActionWords::EN }
        // Recalls.
        recall { zh: "召回",
                 en: "Recall" }
        recall_code { zh: "召回这一件",
                      en: "Recall this part" }
        /// `{lot}`.
        recall_lot { zh: "召回批号 {lot} 的全部配件",
                     en: "Recall every part of lot {lot}" }
        reason { zh: "原因",
                 en: "Reason" }
        recall_button { zh: "召回此件",
                        en: "Recall this part" }
        recall_lot_button { zh: "召回整批",
                            en: "Recall the lot" }
        recalled { zh: "已召回",
                   en: "Recalled" }
        lot_recalled { zh: "整批已召回",
                       en: "The whole lot is recalled" }
        // The manifest upload.
        upload { zh: "上传清单",
                 en: "Upload a manifest" }
        upload_hint { zh: "选择 partseal sign 生成的签名清单（JSON Lines）。文件边上传边登记，大文件也不必等待全部发送。",
                      en: "Choose a signed manifest as partseal sign writes it (JSON Lines). Lines are registered as the file is sent, so a large file needs no wait before it starts." }
        manifest_file { zh: "清单文件",
                        en: "Manifest file" }
        upload_button { zh: "上传并登记",
                        en: "Upload and register" }
        upload_choose { zh: "请先选择一个清单文件。",
                        en: "Choose a manifest file first." }
        /// `{pct}`: the share of the file sent.
        upload_sending { zh: "正在上传并登记：{pct}%",
                         en: "Sending and registering: {pct}%" }
        upload_registering { zh: "文件已发送，正在登记最后几行……",
                             en: "Sent; registering the last lines…" }
        upload_done { zh: "完成。",
                      en: "Done." }
        upload_failed { zh: "上传没有完成。",
                        en: "The upload did not finish." }
        upload_stored { zh: "中断前已保存的部分：",
                        en: "Stored before it stopped:" }
        sum_lines { zh: "行数",
                    en: "Lines" }
        sum_registered { zh: "新登记",
                         en: "Newly registered" }
        sum_already { zh: "已登记过",
                      en: "Already registered" }
        sum_rejected { zh: "被拒绝",
                       en: "Rejected" }
        col_line { zh: "行",
                   en: "Line" }
        col_reason { zh: "原因",
                     en: "Reason" }
        more_rejections { zh: "被拒绝的行较多，只列出前面的部分。",
                          en: "Many lines were rejected; only the first are listed." }
        // The lots.
        lots { zh: "您的批次",
               en: "Your lots" }
        lots_link { zh: "查看您的批次",
                    en: "See your lots" }
        no_lots { zh: "还没有登记的编码。",
                  en: "No codes registered yet." }
        col_codes { zh: "编码数",
                    en: "Codes" }
        col_scans { zh: "公众扫描",
                    en: "Public scans" }
        col_alerts { zh: "警报",
                     en: "Alerts" }
        /// `{n}`: code records examined.
        lots_incomplete { zh: "只统计了登记库中的前 {n} 个编码，数字可能偏少。",
                          en: "Counted over the registry's first {n} codes only: the figures may be low." }
    }
}

impl CaseTexts {
    pub fn step(&self, step: Step) -> &'static str {
        self.steps.of(step)
    }

    pub fn basis(&self, basis: Basis) -> &'static str {
        match basis {
            Basis::Scanned => self.scanned,
            Basis::Typed => self.typed,
            Basis::Legacy => self.legacy,
        }
    }

    pub fn outcome(&self, outcome: Outcome) -> &'static str {
        match outcome {
            Outcome::Applied => self.applied,
            Outcome::Repeated => self.repeated,
            Outcome::Conflict { .. } => self.evidence,
            Outcome::Claim { .. } => self.claim,
            Outcome::Refused { .. } => self.refused,
        }
    }

    /// The dashboard action a note was written with, in words, from the word stored with it. A
    /// word no [`NoteAction`] writes is a bug (or a note from another version): logged, and
    /// shown as stored.
    pub fn action(&self, stored: &str) -> String {
        match NoteAction::parse(stored) {
            Some(action) => self.actions.of(action).to_owned(),
            None => {
                tracing::error!(
                    action = stored,
                    "bug: a note's action without words (case_text.rs)"
                );
                stored.to_owned()
            }
        }
    }
}

pub fn texts(lang: Lang) -> &'static CaseTexts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

static ZH: CaseTexts = CaseTexts::ZH;
static EN: CaseTexts = CaseTexts::EN;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::i18n::tests::translated;

    #[test]
    fn every_step_has_words_in_both_languages() {
        for step in Step::ALL {
            translated(step.as_str(), ZH.step(step), EN.step(step));
        }
    }

    /// Every action a note is written with. A new one stops the `match` from compiling: list it
    /// here too.
    fn every_note_action() -> Vec<NoteAction> {
        let mut actions = vec![
            NoteAction::Investigating,
            NoteAction::Recall,
            NoteAction::LotRecall,
        ];
        actions.extend(Resolution::ALL.map(NoteAction::Resolved));
        for action in &actions {
            match action {
                NoteAction::Investigating
                | NoteAction::Resolved(_)
                | NoteAction::Recall
                | NoteAction::LotRecall => {}
            }
        }
        actions
    }

    #[test]
    fn every_note_action_is_read_back_from_its_word_with_words_in_both_languages() {
        for action in every_note_action() {
            let word = action.as_str();
            assert_eq!(NoteAction::parse(word), Some(action));
            let (zh, en) = (ZH.action(word), EN.action(word));
            translated(word, &zh, &en);
            assert_ne!(en, word, "{word}: shown as stored, not in words");
        }
    }
}
