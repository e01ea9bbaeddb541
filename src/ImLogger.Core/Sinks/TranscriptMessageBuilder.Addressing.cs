using ImLogger.Conversations;
using MimeKit;

namespace ImLogger.Sinks;

// Transcripts a compliance officer can sort (issue 19): the message is addressed as the conversation was, so a mail
// archive sorts and searches it by person. From is the conversation's first sender; To the other participants who said
// something, Cc those who were only there (a room's silent occupants); Sender the archive itself, which did send it (a
// mail server that checks the From domain sees whose message it is). Date is the last event's time, not the idle close.
// A JID is used as the address as it is (it is an address of the same shape); the display name is the nickname the
// conversation used, cleaned of control characters and encoded by MimeKit (RFC 2047) when it is not ASCII.
public sealed partial class TranscriptMessageBuilder
{
    /// <summary>Most addresses in To and Cc together (a room of thousands names the first ones; all are in the body).</summary>
    public const int MaxAddressed = 100;

    private void Address(MimeMessage message, Transcript transcript)
    {
        var names = DisplayNames(transcript);
        var people = transcript.Participants.Where(p => p.IndexOf('@') > 0).ToList();
        var first = FirstSender(transcript, people);
        message.Sender = _from;
        if (first == null)
        {
            message.From.Add(_from);
            message.To.Add(_to);
            return;
        }
        message.From.Add(Mailbox(first, names));
        var spoke = new HashSet<string>(transcript.Events.Where(e => e.Kind != EventKind.Notice && e.SenderBareJid != null
            && e.Kind is not (EventKind.Joined or EventKind.Left or EventKind.Present)).Select(e => e.SenderBareJid!), StringComparer.Ordinal);
        if (transcript.ConversationType == ConversationType.OneToOne) spoke.UnionWith(people);
        var others = people.Where(p => p != first).Take(MaxAddressed).ToList();
        var to = others.Where(spoke.Contains).ToList();
        var cc = others.Where(p => !spoke.Contains(p)).ToList();
        if (to.Count == 0 && cc.Count == 0) to.Add(first); // alone in a room: addressed to themselves, as a note to self
        message.To.AddRange(to.Select(p => Mailbox(p, names)));
        message.Cc.AddRange(cc.Select(p => Mailbox(p, names)));
    }

    /// <summary>The bare JID of whoever sent the first message (else the first event's sender), among the participants.</summary>
    private static string? FirstSender(Transcript t, List<string> people)
    {
        string? Sender(ConversationEvent e) => e.SenderBareJid ?? (t.ConversationType == ConversationType.OneToOne ? Bare(e.From) : null);
        var content = t.Events.Where(e => e.Kind is not (EventKind.Notice or EventKind.Joined or EventKind.Left or EventKind.Present));
        return content.Concat(t.Events.Where(e => e.Kind != EventKind.Notice)).Select(Sender).FirstOrDefault(j => j != null && people.Contains(j));
    }

    /// <summary>The name each real JID last gave itself in the conversation: its XEP-0172 user nickname (what the person
    /// calls themselves, in any conversation) where it sent one, else the room nickname it last used (a one-to-one chat
    /// has none). The classifier only puts a user nickname on the events of that person's own stanzas.</summary>
    private static Dictionary<string, string> DisplayNames(Transcript t)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var own = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in t.Events)
        {
            if (e.SenderBareJid == null || e.Kind == EventKind.Notice) continue;
            if (!string.IsNullOrWhiteSpace(e.Nick)) names[e.SenderBareJid] = e.Nick;
            if (!string.IsNullOrWhiteSpace(e.DisplayName)) own[e.SenderBareJid] = e.DisplayName;
        }
        foreach (var (jid, name) in own) names[jid] = name;
        return names;
    }

    /// <summary>A JID as a mailbox; a JID that is not a valid address (XMPP allows local parts mail does not) becomes a
    /// header-safe token at the archive's domain, with the JID as display name, so user text never reaches a header raw.</summary>
    private MailboxAddress Mailbox(string bareJid, Dictionary<string, string> names)
    {
        var display = DisplayName(names.TryGetValue(bareJid, out var nick) ? nick : "");
        if (bareJid.All(c => c > ' ' && c < 0x7f && c is not ('<' or '>' or '"' or '(' or ')' or ',' or ';' or ':' or '\\' or '[' or ']'))
            && MailboxAddress.TryParse(bareJid, out var parsed) && parsed.Address == bareJid)
            return new MailboxAddress(display, bareJid);
        return new MailboxAddress(display.Length > 0 ? display : DisplayName(bareJid), $"{SafeToken(bareJid)}@{_domain}");
    }

    /// <summary>Longest display name: a nickname, cut short enough that folding never splits it (a split adds a space).</summary>
    public const int MaxDisplayName = 64;

    /// <summary>One line, at most <see cref="MaxDisplayName"/> characters, and no "=?" (MimeKit passes text that looks like
    /// an RFC 2047 encoded word through as is, and a reader would decode a nickname's "=?utf-8?q?=0D=0A...?=" into line
    /// breaks).</summary>
    /// <remarks>Bidirectional controls are dropped too: a right-to-left override in a name shown beside an address could
    /// make "moc.elpmaxe" read as someone else's domain.</remarks>
    internal static string DisplayName(string text) =>
        HeaderValue(WithoutBidiControls(text).Replace("=?", "= ?", StringComparison.Ordinal), MaxDisplayName);

    private static string WithoutBidiControls(string text) =>
        text.AsSpan().IndexOfAny(BidiControls) < 0 ? text : string.Concat(text.Where(c => !BidiControls.Contains(c)));

    private static readonly System.Buffers.SearchValues<char> BidiControls =
        System.Buffers.SearchValues.Create("\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");

    /// <summary>When the conversation's last event happened (the close comes later, after the idle time); what ImLogger
    /// recorded about its own notices afterwards (sent, bounced) is not the conversation's.</summary>
    internal static DateTimeOffset LastEventUtc(Transcript t)
    {
        var last = DateTimeOffset.MinValue;
        foreach (var e in t.Events)
            if (!NoticeOutcome.IsOutcome(e) && e.ReceivedUtc > last) last = e.ReceivedUtc;
        return last == DateTimeOffset.MinValue ? t.ClosedUtc : last;
    }
}
