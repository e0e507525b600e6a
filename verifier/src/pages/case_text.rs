//! The words of the manufacturer's investigation view, code search and recall forms, one table
//! per language like [`super::i18n`]. They live in their own table because only these pages use
//! them; [`super::i18n::Texts`] keeps the words shared across pages. A missing translation is a
//! compile error here too: every key is a field, and steps, outcomes and note actions are matched
//! exhaustively. Only a note's stored action word is looked up by name ([`CaseTexts::action`]).

use registry::Resolution;
use registry::event::{Basis, Outcome, Step};

use super::i18n::{Lang, StepWords};

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

/// Each [`NoteAction`] in words.
pub struct ActionWords {
    pub investigating: &'static str,
    pub genuine: &'static str,
    pub counterfeit: &'static str,
    pub recall: &'static str,
    pub lot_recall: &'static str,
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

pub struct CaseTexts {
    pub title: &'static str,
    pub back: &'static str,
    pub find: &'static str,
    pub find_hint: &'static str,
    pub find_button: &'static str,
    pub gtin: &'static str,
    pub serial: &'static str,
    pub not_yours: &'static str,
    pub lot: &'static str,
    pub no_lot: &'static str,
    pub custody_now: &'static str,
    pub open_alert: &'static str,
    pub no_alert: &'static str,
    pub investigate: &'static str,
    pub involves: &'static str,
    // The timeline.
    pub history: &'static str,
    pub col_when: &'static str,
    pub col_step: &'static str,
    pub col_party: &'static str,
    pub col_basis: &'static str,
    pub col_outcome: &'static str,
    /// `{vin}`: the VIN's last six characters.
    pub in_vehicle: &'static str,
    /// `{name}`: the party shipped to.
    pub shipped_to: &'static str,
    pub steps: StepWords,
    pub scanned: &'static str,
    pub typed: &'static str,
    pub legacy: &'static str,
    pub applied: &'static str,
    pub repeated: &'static str,
    pub evidence: &'static str,
    pub claim: &'static str,
    pub refused: &'static str,
    // The copies.
    pub copies: &'static str,
    pub custody_copy: &'static str,
    pub conflicting_copy: &'static str,
    // Claims.
    pub claims: &'static str,
    pub no_claims: &'static str,
    // Scans.
    pub scans: &'static str,
    pub scans_total: &'static str,
    /// `{hours}`: the scan window.
    pub scans_networks: &'static str,
    pub scans_regions: &'static str,
    pub scans_days: &'static str,
    pub no_scans: &'static str,
    // Reports and notes.
    pub reports: &'static str,
    pub no_reports: &'static str,
    pub notes: &'static str,
    pub no_notes: &'static str,
    pub note_required: &'static str,
    pub actions: ActionWords,
    // Recalls.
    pub recall: &'static str,
    pub recall_code: &'static str,
    /// `{lot}`.
    pub recall_lot: &'static str,
    pub reason: &'static str,
    pub recall_button: &'static str,
    pub recall_lot_button: &'static str,
    pub recalled: &'static str,
    pub lot_recalled: &'static str,
    // The manifest upload.
    pub upload: &'static str,
    pub upload_hint: &'static str,
    pub manifest_file: &'static str,
    pub upload_button: &'static str,
    pub upload_choose: &'static str,
    /// `{pct}`: the share of the file sent.
    pub upload_sending: &'static str,
    pub upload_registering: &'static str,
    pub upload_done: &'static str,
    pub upload_failed: &'static str,
    pub upload_stored: &'static str,
    pub sum_lines: &'static str,
    pub sum_registered: &'static str,
    pub sum_already: &'static str,
    pub sum_rejected: &'static str,
    pub col_line: &'static str,
    pub col_reason: &'static str,
    pub more_rejections: &'static str,
    // The lots.
    pub lots: &'static str,
    pub lots_link: &'static str,
    pub no_lots: &'static str,
    pub col_codes: &'static str,
    pub col_scans: &'static str,
    pub col_alerts: &'static str,
    /// `{n}`: code records examined.
    pub lots_incomplete: &'static str,
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

static ZH: CaseTexts = CaseTexts {
    title: "编码调查",
    back: "返回看板",
    find: "查找编码",
    find_hint: "输入您的任意一个编码的 GTIN 和序列号，查看它的完整记录。",
    find_button: "查找",
    gtin: "GTIN（商品编码）",
    serial: "序列号",
    not_yours: "您登记的编码中没有这个 GTIN 和序列号。",
    lot: "批号",
    no_lot: "无批号",
    custody_now: "当前保管",
    open_alert: "这个编码有待处理的警报。",
    no_alert: "这个编码没有待处理的警报。",
    investigate: "调查",
    involves: "涉及",
    history: "流转记录",
    col_when: "时间",
    col_step: "步骤",
    col_party: "参与方",
    col_basis: "方式",
    col_outcome: "结果",
    in_vehicle: "车辆 …{vin}",
    shipped_to: "发往 {name}",
    steps: StepWords {
        commissioning: "登记",
        shipping: "发货",
        receiving: "收货",
        installing: "安装",
        removing: "拆下",
        decommissioning: "作废",
        destroying: "销毁",
        recalling: "召回",
        correcting: "更正",
        resolving: "结案",
    },
    scanned: "扫描标签",
    typed: "手动输入号码",
    legacy: "旧记录",
    applied: "已执行",
    repeated: "重复",
    evidence: "冲突证据",
    claim: "声明（无效力）",
    refused: "被拒绝",
    copies: "相互冲突的几件",
    custody_copy: "保管记录中的这一件",
    conflicting_copy: "冲突的一件",
    claims: "其他参与方的声明和被拒绝的操作",
    no_claims: "没有。",
    scans: "公众扫描",
    scans_total: "扫描总次数",
    scans_networks: "近 {hours} 小时内的不同网络",
    scans_regions: "扫描地区",
    scans_days: "每日扫描",
    no_scans: "还没有公众扫描。",
    reports: "关于这个编码的公众举报",
    no_reports: "没有举报。",
    notes: "备注",
    no_notes: "还没有备注。",
    note_required: "备注（必填）",
    actions: ActionWords {
        investigating: "标记为调查中",
        genuine: "结案：正品",
        counterfeit: "结案：假货",
        recall: "召回此件",
        lot_recall: "召回整批",
    },
    recall: "召回",
    recall_code: "召回这一件",
    recall_lot: "召回批号 {lot} 的全部配件",
    reason: "原因",
    recall_button: "召回此件",
    recall_lot_button: "召回整批",
    recalled: "已召回",
    lot_recalled: "整批已召回",
    upload: "上传清单",
    upload_hint: "选择 partseal sign 生成的签名清单（JSON Lines）。文件边上传边登记，大文件也不必等待全部发送。",
    manifest_file: "清单文件",
    upload_button: "上传并登记",
    upload_choose: "请先选择一个清单文件。",
    upload_sending: "正在上传并登记：{pct}%",
    upload_registering: "文件已发送，正在登记最后几行……",
    upload_done: "完成。",
    upload_failed: "上传没有完成。",
    upload_stored: "中断前已保存的部分：",
    sum_lines: "行数",
    sum_registered: "新登记",
    sum_already: "已登记过",
    sum_rejected: "被拒绝",
    col_line: "行",
    col_reason: "原因",
    more_rejections: "被拒绝的行较多，只列出前面的部分。",
    lots: "您的批次",
    lots_link: "查看您的批次",
    no_lots: "还没有登记的编码。",
    col_codes: "编码数",
    col_scans: "公众扫描",
    col_alerts: "警报",
    lots_incomplete: "只统计了登记库中的前 {n} 个编码，数字可能偏少。",
};

static EN: CaseTexts = CaseTexts {
    title: "Code investigation",
    back: "Back to the dashboard",
    find: "Find a code",
    find_hint: "Type the GTIN and serial of any of your codes to see its whole history.",
    find_button: "Find",
    gtin: "GTIN (product number)",
    serial: "Serial number",
    not_yours: "No code of yours has this GTIN and serial.",
    lot: "Lot",
    no_lot: "no lot",
    custody_now: "Custody now",
    open_alert: "This code has an open alert.",
    no_alert: "No open alert on this code.",
    investigate: "Investigate",
    involves: "Involves",
    history: "History",
    col_when: "When",
    col_step: "Step",
    col_party: "Party",
    col_basis: "How",
    col_outcome: "Outcome",
    in_vehicle: "vehicle …{vin}",
    shipped_to: "to {name}",
    steps: StepWords {
        commissioning: "registered",
        shipping: "shipped",
        receiving: "received",
        installing: "installed",
        removing: "removed",
        decommissioning: "voided",
        destroying: "destroyed",
        recalling: "recalled",
        correcting: "corrected",
        resolving: "resolved",
    },
    scanned: "label scanned",
    typed: "numbers typed",
    legacy: "older record",
    applied: "applied",
    repeated: "repeated",
    evidence: "evidence of a copy",
    claim: "claim (no effect)",
    refused: "refused",
    copies: "The conflicting copies",
    custody_copy: "Where custody has the part",
    conflicting_copy: "Conflicting copy",
    claims: "Claims and refused attempts by other parties",
    no_claims: "None.",
    scans: "Public scans",
    scans_total: "Scans in all",
    scans_networks: "Networks in the last {hours} hours",
    scans_regions: "Regions scanned from",
    scans_days: "Scans per day",
    no_scans: "No public scans yet.",
    reports: "Public reports on this code",
    no_reports: "No reports.",
    notes: "Notes",
    no_notes: "No notes yet.",
    note_required: "Note (required)",
    actions: ActionWords {
        investigating: "Marked investigating",
        genuine: "Resolved: genuine",
        counterfeit: "Resolved: counterfeit",
        recall: "Recalled the part",
        lot_recall: "Recalled the lot",
    },
    recall: "Recall",
    recall_code: "Recall this part",
    recall_lot: "Recall every part of lot {lot}",
    reason: "Reason",
    recall_button: "Recall this part",
    recall_lot_button: "Recall the lot",
    recalled: "Recalled",
    lot_recalled: "The whole lot is recalled",
    upload: "Upload a manifest",
    upload_hint: "Choose a signed manifest as partseal sign writes it (JSON Lines). Lines are registered as the file is sent, so a large file needs no wait before it starts.",
    manifest_file: "Manifest file",
    upload_button: "Upload and register",
    upload_choose: "Choose a manifest file first.",
    upload_sending: "Sending and registering: {pct}%",
    upload_registering: "Sent; registering the last lines…",
    upload_done: "Done.",
    upload_failed: "The upload did not finish.",
    upload_stored: "Stored before it stopped:",
    sum_lines: "Lines",
    sum_registered: "Newly registered",
    sum_already: "Already registered",
    sum_rejected: "Rejected",
    col_line: "Line",
    col_reason: "Reason",
    more_rejections: "Many lines were rejected; only the first are listed.",
    lots: "Your lots",
    lots_link: "See your lots",
    no_lots: "No codes registered yet.",
    col_codes: "Codes",
    col_scans: "Public scans",
    col_alerts: "Alerts",
    lots_incomplete: "Counted over the registry's first {n} codes only: the figures may be low.",
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Chinese words, not a table entry left in English.
    fn chinese(words: &str) -> bool {
        words
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_step_has_words_in_both_languages() {
        for step in Step::ALL {
            let (zh, en) = (ZH.step(step), EN.step(step));
            assert!(chinese(zh) && !en.is_empty() && en != zh, "{step:?}");
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
            assert!(
                chinese(&zh) && en != word && en != zh,
                "{word}: {zh} / {en}"
            );
        }
    }
}
