namespace ImLogger.Sinks;

// Notices as they happened (issue 17) and once per transcript (issue 19): a notice decided by the notifier is shown with
// what became of it (sent, not sent and why, bounced by the server), read from the outcome events that point at it
// (Domain/NoticeOutcome.cs); those outcome events are not lines of their own when their notice is in the transcript.
// The notice's text is written out the first time; later notices with the same text say who was told and refer to it.
public sealed partial class TranscriptMessageBuilder
{
    internal sealed partial class MessageIndex
    {
        private readonly Dictionary<string, List<ConversationEvent>> _outcomes = new(StringComparer.Ordinal);
        private readonly HashSet<string> _notices = new(StringComparer.Ordinal);
        private readonly HashSet<string> _textsShown = new(StringComparer.Ordinal);

        private void IndexNotices(IEnumerable<ConversationEvent> events)
        {
            foreach (var e in events)
            {
                if (e.Kind != EventKind.Notice) continue;
                if (NoticeOutcome.IsOutcome(e))
                {
                    if (!_outcomes.TryGetValue(e.RelatedId!, out var list)) _outcomes[e.RelatedId!] = list = [];
                    list.Add(e);
                }
                else _notices.Add(e.Id);
            }
        }

        /// <summary>An outcome event whose notice is in this transcript: said on the notice's line, not on its own.</summary>
        public bool Folded(ConversationEvent e) => NoticeOutcome.IsOutcome(e) && _notices.Contains(e.RelatedId!);

        public IReadOnlyList<ConversationEvent> OutcomesOf(ConversationEvent notice) =>
            _outcomes.TryGetValue(notice.Id, out var list) ? list : [];

        /// <summary>True the first time a notice text is shown in this rendering.</summary>
        public bool FirstShowing(string text) => !Searchable || _textsShown.Add(text);
    }

    /// <summary>"[notice to alice@example.test, bob@example.test]" when each went out; otherwise who was told, who was not
    /// and why, and what the server bounced. A notice stored before outcomes were recorded (no reason) reads as before.</summary>
    internal static string NoticeLabel(ConversationEvent e, MessageIndex index)
    {
        if (NoticeOutcome.IsOutcome(e)) return OrphanOutcome(e);
        if (e.Reason != NoticeOutcome.Decided) return string.IsNullOrEmpty(e.To) ? "[notice]" : $"[notice to {Line(e.To)}]";
        var outcomes = index.OutcomesOf(e);
        if (outcomes.Count == 0)
            return index.Searchable
                ? $"[notice for {Line(e.To)}: NOT CONFIRMED SENT (ImLogger stopped or lost the connection before it could send it)]"
                : $"[notice for {Line(e.To)}]";
        var parts = new List<string>();
        var sent = outcomes.Where(o => o.Reason == NoticeOutcome.Sent).Select(o => Line(o.To)).ToList();
        if (sent.Count > 0) parts.Add("notice to " + string.Join(", ", sent));
        foreach (var o in outcomes.Where(o => o.Reason != NoticeOutcome.Sent))
            parts.Add(o.Reason!.StartsWith(NoticeOutcome.BouncedPrefix, StringComparison.Ordinal)
                ? $"BOUNCED by the server for {Line(o.To)}: {Line(o.Reason[NoticeOutcome.BouncedPrefix.Length..])}"
                : $"notice NOT SENT to {Line(o.To)}: {Line(o.Reason.StartsWith(NoticeOutcome.NotSentPrefix, StringComparison.Ordinal) ? o.Reason[NoticeOutcome.NotSentPrefix.Length..] : o.Reason)}");
        return "[" + string.Join("; ", parts) + "]";
    }

    /// <summary>An outcome whose notice is in another transcript (a bounce after the transcript closed).</summary>
    private static string OrphanOutcome(ConversationEvent e) =>
        e.Reason == NoticeOutcome.Sent ? $"[an earlier notice to {Line(e.To)} was sent]"
        : e.Reason!.StartsWith(NoticeOutcome.BouncedPrefix, StringComparison.Ordinal)
            ? $"[an earlier notice to {Line(e.To)} was BOUNCED by the server: {Line(e.Reason[NoticeOutcome.BouncedPrefix.Length..])}]"
            : $"[an earlier notice to {Line(e.To)} was NOT SENT: {Line(e.Reason.StartsWith(NoticeOutcome.NotSentPrefix, StringComparison.Ordinal) ? e.Reason[NoticeOutcome.NotSentPrefix.Length..] : e.Reason)}]";

    /// <summary>" text" the first time a notice text appears in the transcript, " (the notice text above)" after; nothing
    /// for an outcome line.</summary>
    private static string NoticeText(ConversationEvent e, MessageIndex index, Func<string, string> format)
    {
        if (NoticeOutcome.IsOutcome(e)) return "";
        var text = MessageText(e);
        return index.FirstShowing(text) ? " " + format(text) : " (the notice text above)";
    }
}
