// What the server's refusals mean, in Chinese, with what to do about them (CONTRACT.md §5: a 409 or a
// 422 shown in Chinese). The API answers problem+json with field errors in English; known messages are
// translated here, anything else is shown as the server wrote it.

export const CRITERIA = { quality: "质量", safety: "安全", schedule: "进度", environment: "环保", management: "管理" };

const FIELDS = {
  section: "标段", team: "突击队", criterion: "考核项目", item: "考核细则", kind: "类型", points: "分值",
  observed_at: "检查时间", note: "说明", location: "定位", chainage: "桩号", photos: "照片",
  rectify_by: "整改期限", client_id: "记录编号", entries: "记录", reason: "理由", _entry: "记录", _schema: "记录",
  _body: "记录",
};

const MESSAGES = [
  [/^Unknown field\.?$/, () => "服务器不认识这一项（服务器版本较旧，请联系竞赛办）"],
  [/^Missing data for required field\.?$/, () => "必填"],
  [/^Field may not be null\.?$/, () => "必填"],
  [/^Required for a deduction\.?$/, () => "扣分必须选择考核细则"],
  [/^Unknown section (.+)\.$/, (m) => `没有标段 ${m[1]}`],
  [/^Section (.+) is not assigned to (.+)\.$/, (m) => `标段 ${m[1]} 没有分配给 ${m[2]}`],
  [/^Unknown team (.+)\.$/, (m) => `没有突击队 ${m[1]}`],
  [/^Team (.+) belongs to section (.+), not (.+)\.$/, (m) => `突击队 ${m[1]} 属于标段 ${m[2]}，不属于 ${m[3]}`],
  [/^Unknown item (.+)\.$/, (m) => `没有考核细则 ${m[1]}`],
  [/^Item (.+) belongs to (\w+), not (\w+)\.$/,
    (m) => `细则 ${m[1]} 属于「${CRITERIA[m[2]] || m[2]}」，不属于「${CRITERIA[m[3]] || m[3]}」`],
  [/^Lies in the future\.?$/, () => "时间在将来"],
  [/^Not a valid/, () => "格式不正确"],
  [/^Must be one of/, () => "不是允许的值"],
  [/^Must be greater than or equal to (.+) and less than or equal to (.+)\.$/, (m) => `应在 ${m[1]} 到 ${m[2]} 之间`],
];

/** One message of the server in Chinese; Chinese text is kept as it is. */
export function translate(message) {
  const text = String(message);
  if (/[\u4e00-\u9fff]/.test(text)) return text;
  for (const [pattern, say] of MESSAGES) {
    const m = pattern.exec(text);
    if (m) return say(m);
  }
  return `服务器说明：${text}`;
}

function flatten(errors, prefix = "") {
  const lines = [];
  for (const [field, value] of Object.entries(errors || {})) {
    const name = FIELDS[field] || (prefix ? `${prefix}.${field}` : field);
    if (Array.isArray(value)) {
      for (const message of value) {
        lines.push(typeof message === "string" ? `${name}：${translate(message)}` : flatten(message, name).join("；"));
      }
    } else if (value && typeof value === "object") {
      lines.push(...flatten(value, name));
    } else {
      lines.push(`${name}：${translate(value)}`);
    }
  }
  return lines;
}

const ADVICE_RESUBMIT = "请核对后点「复制为新记录」，改正后重新提交；确认不需要时点「放弃」。";

/**
 * A refusal as the supervisor reads it: {title, lines, advice}. `status` is the HTTP status (409, 422 …),
 * `problem` the problem+json body or a batch result's {errors}.
 */
export function refusal(status, problem) {
  const lines = flatten(problem && problem.errors);
  if (!lines.length && problem && problem.detail) lines.push(translate(problem.detail));
  switch (status) {
    case 409:
      return {
        title: "服务器上已有同一编号、内容不同的记录（409）",
        lines,
        advice: "此条可能在别处改过后重发。请到「我的记录」核对：已有正确记录就点「放弃」；否则点「复制为新记录」重新提交。",
      };
    case 422:
      return { title: "服务器认为这条记录无效，没有保存（422）", lines, advice: ADVICE_RESUBMIT };
    case 403:
      return {
        title: "无权提交这条记录（403）",
        lines,
        advice: "您的标段分工可能已调整。请联系竞赛办核对，再「复制为新记录」或「放弃」。",
      };
    case 413:
      return { title: "照片或记录太大，服务器拒收（413）", lines, advice: "请删掉过大的照片后「复制为新记录」重新提交。" };
    case 404:
      return { title: "服务器上没有这个竞赛或照片（404）", lines, advice: "请联系竞赛办；确认不需要时点「放弃」。" };
    default:
      return {
        title: `服务器拒收（${status}）`,
        lines,
        advice: ADVICE_RESUBMIT,
      };
  }
}
