using System.Globalization;
using System.Text;
using ImLogger.Conversations;
using MimeKit;
using MimeKit.IO;

namespace ImLogger.Sinks;

/// <summary>Which part of a split transcript a message is (numbers are 1-based).</summary>
/// <param name="Number">This part's number.</param>
/// <param name="Of">How many parts the transcript was sent as.</param>
/// <param name="FirstEvent">The transcript's first event in this part.</param>
/// <param name="LastEvent">The transcript's last event in this part.</param>
/// <param name="TotalEvents">Events in the whole transcript.</param>
public sealed record TranscriptPart(int Number, int Of, int FirstEvent, int LastEvent, int TotalEvents)
{
    /// <summary>" (part 2 of 5)", appended to the subject.</summary>
    public string SubjectSuffix => string.Create(CultureInfo.InvariantCulture, $" (part {Number} of {Of})");

    /// <summary>The line a part's body starts with, so a reader of one part knows there are others.</summary>
    public string Note => string.Create(CultureInfo.InvariantCulture,
        $"Part {Number} of {Of} of this transcript: events {FirstEvent} to {LastEvent} of {TotalEvents}. The parts are sent in order and share the X-ImLogger-Transcript-Id header.");
}

/// <summary>Splitting a transcript into parts that each fit the endpoint's message size limit.</summary>
public abstract partial class SmtpSink
{
    /// <summary>Room for what the final part adds beyond the measured one (shorter numbers never make it larger; this is
    /// a margin for the Message-ID and References of a resumed delivery).</summary>
    private const long PartOverhead = 4096;

    /// <summary>The least headroom kept below a limit: the server counts the Received header it adds, and some count the
    /// envelope and dot-stuffing too.</summary>
    private const long MinHeadroom = 16 * 1024;

    /// <summary>Below this a part cannot hold a transcript's heading and a piece of an event: the endpoint's limit is
    /// then a configuration problem, not something smaller parts can solve.</summary>
    internal const long MinPartBytes = 32 * 1024;

    /// <summary>A part as planned: the message, and the progress once the endpoint accepted it.</summary>
    /// <param name="Message">The message.</param>
    /// <param name="After">Progress once it is accepted.</param>
    /// <param name="IsPart">False for a transcript sent whole.</param>
    internal sealed record PlannedPart(MimeMessage Message, DeliveryProgress After, bool IsPart);

    /// <summary>One event of a part, or one piece of an event too large for a part on its own.</summary>
    private readonly record struct Unit(ConversationEvent Event, int Index, int Piece, int Pieces)
    {
        public bool Completes => Piece == Pieces;

        /// <summary>"e12", or "e12p3" for the third piece of event 12 (1-based): part of the part's Message-ID.</summary>
        public string Label => Pieces == 1
            ? string.Create(CultureInfo.InvariantCulture, $"e{Index + 1}")
            : string.Create(CultureInfo.InvariantCulture, $"e{Index + 1}p{Piece}");
    }

    /// <summary>The message a transcript (or a part of it, then with <paramref name="part"/>) becomes, before the part's
    /// Message-ID, subject suffix and threading headers are added. Depends only on its arguments (stable Message-IDs).</summary>
    /// <param name="transcript">The transcript, or for a part the transcript with only that part's events.</param>
    /// <param name="part">Which part, or null for a transcript sent whole.</param>
    protected abstract MimeMessage Shape(Transcript transcript, TranscriptPart? part);

    /// <summary>The message(s) a transcript becomes under the configured limit, in order (more than one when it is larger).</summary>
    /// <param name="transcript">The transcript.</param>
    public IReadOnlyList<MimeMessage> Compose(Transcript transcript) => Compose(transcript, Config.MaxMessageBytes, DeliveryProgress.None);

    /// <summary>The message(s) that deliver what is left of a transcript after <paramref name="resume"/> when a message may
    /// be at most <paramref name="limit"/> bytes.</summary>
    /// <param name="transcript">The transcript.</param>
    /// <param name="limit">Largest message (the smaller of the configured maximum and the server's SIZE).</param>
    /// <param name="resume">What the endpoint already accepted.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> leaves no room for a part, or
    /// <paramref name="resume"/> does not fit the transcript.</exception>
    public IReadOnlyList<MimeMessage> Compose(Transcript transcript, long limit, DeliveryProgress resume) =>
        Plan(transcript, limit, resume).Select(p => p.Message).ToList();

    /// <summary>What is sent of a limit: it less a headroom of 2 % (at least 16 KB).</summary>
    internal static long Budget(long limit) => limit - Math.Max(MinHeadroom, limit / 50);

    /// <summary>The messages that deliver what is left after <paramref name="resume"/>: the whole transcript as one message
    /// when nothing was sent yet and it fits, else the rest as parts numbered on from the accepted ones.</summary>
    internal List<PlannedPart> Plan(Transcript transcript, long limit, DeliveryProgress resume)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var budget = Budget(limit) - PartOverhead;
        if (budget < MinPartBytes)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"a message limit of {limit} bytes leaves no room for a transcript part");
        if (resume.EventsAccepted < 0 || resume.PartsAccepted < 0 || resume.EventsAccepted > transcript.Events.Count)
            throw new ArgumentOutOfRangeException(nameof(resume), resume, $"the transcript has {transcript.Events.Count} events");

        // Every character of text is in the message at least once: a transcript with more text than the budget cannot
        // fit whole, and rendering it whole only to find that out costs as much as the split.
        if (resume is { PartsAccepted: 0, EventsAccepted: 0 } && transcript.Events.Sum(e => (long)(e.Text?.Length ?? 0)) <= budget + PartOverhead)
        {
            var whole = Wire(Shape(transcript, null));
            if (Size(whole) <= budget + PartOverhead) return [new PlannedPart(whole, new DeliveryProgress(1, transcript.Events.Count), IsPart: false)];
        }
        var units = transcript.Events.Skip(resume.EventsAccepted).Select((e, i) => new Unit(e, resume.EventsAccepted + i, 1, 1)).ToList();
        var groups = new List<List<Unit>>();
        Split(transcript, units, budget, groups);
        var of = resume.PartsAccepted + groups.Count;
        var parts = new List<PlannedPart>(groups.Count);
        for (var g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            var number = resume.PartsAccepted + g + 1;
            var last = group[^1];
            var after = new DeliveryProgress(number, last.Completes ? last.Index + 1 : last.Index);
            parts.Add(new PlannedPart(PartMessage(transcript, group, number, of), after, IsPart: true));
        }
        return parts;
    }

    /// <summary>Packs the units in order into parts that fill the budget: each unit's share of a message is measured once
    /// (its part alone, less a part without text), a part takes units by those shares, and is then measured whole and
    /// trimmed from its end until it fits (the shares are estimates: headers such as the participant list grow with the
    /// part). Each part depends only on where it starts, so the same transcript, limit and progress always split the same
    /// way, and a resumed delivery cuts the rest as the first attempt did. An event too large on its own is cut into
    /// pieces, each its own part.</summary>
    private void Split(Transcript transcript, List<Unit> units, long max, List<List<Unit>> into)
    {
        if (units.Count == 0) return;
        var empty = units[0] with { Event = units[0].Event with { Text = "", Html = null } };
        var overhead = Size(PartMessage(transcript, [empty], 99999, 99999));
        var alone = units.Select(u => Size(PartMessage(transcript, [u], 99999, 99999))).ToList();
        for (var start = 0; start < units.Count;)
        {
            if (alone[start] > max)
            {
                into.AddRange(Pieces(transcript, units[start], max).Select(p => new List<Unit> { p }));
                start++;
                continue;
            }
            var take = 1;
            for (var filled = alone[start]; start + take < units.Count && alone[start + take] <= max; take++)
            {
                filled += Math.Max(0, alone[start + take] - overhead);
                if (filled > max) break;
            }
            for (long size; take > 1 && (size = Size(PartMessage(transcript, units.GetRange(start, take), 99999, 99999))) > max;)
                take = (int)Math.Max(1, Math.Min(take - 1, take * max / size));
            into.Add(units.GetRange(start, take));
            start += take;
        }
    }

    /// <summary>An event larger than a part on its own, as consecutive pieces of its text, each saying which piece of what
    /// it is: nothing is cut off, the archive gets it in order across parts. The XHTML-IM formatting is not repeated
    /// (its text is, when it differs from the plain body).</summary>
    private IEnumerable<Unit> Pieces(Transcript transcript, Unit unit, long max)
    {
        var e = unit.Event;
        var plain = e.Text ?? "";
        var formatted = e.Html is { Length: > 0 } html ? TranscriptMessageBuilder.HtmlToText(html) : "";
        var content = formatted.Length == 0 || formatted.Trim() == plain.Trim() ? (plain.Length > 0 ? plain : formatted)
            : plain.Length == 0 ? formatted
            : plain + "\n\n[the same message's formatted (XHTML-IM) version, as text:]\n" + formatted;
        var size = TranscriptMessageBuilder.SizeText(Encoding.UTF8.GetByteCount(plain) + Encoding.UTF8.GetByteCount(e.Html ?? ""));
        for (var chars = (int)Math.Min(int.MaxValue / 2, max / 8); chars >= 1024; chars /= 2)
        {
            var slices = Slice(content, chars);
            var pieces = slices.Select((s, i) => new Unit(e with
            {
                Text = string.Create(CultureInfo.InvariantCulture,
                    $"[piece {i + 1} of {slices.Count} of one message of {size}, cut into pieces because it is larger than one e-mail to this archive may be; the pieces follow in order and together hold all of its text]\n") + s,
                Html = null,
            }, unit.Index, i + 1, slices.Count)).ToList();
            if (pieces.All(p => Size(PartMessage(transcript, [p], 99999, 99999)) <= max)) return pieces;
        }
        // Not text that makes it large (nothing else in an event is unbounded): sent alone, the server decides, and a
        // refusal is a dead letter with its reason, never a silent drop.
        return [unit];
    }

    /// <summary>Cuts text into slices of at most <paramref name="chars"/> characters, never inside a surrogate pair.</summary>
    private static List<string> Slice(string text, int chars)
    {
        var slices = new List<string>();
        for (var at = 0; at < text.Length;)
        {
            var length = Math.Min(chars, text.Length - at);
            if (at + length < text.Length && char.IsHighSurrogate(text[at + length - 1])) length--;
            slices.Add(text.Substring(at, length));
            at += length;
        }
        if (slices.Count == 0) slices.Add("");
        return slices;
    }

    /// <summary>The message of one part: shaped by the endpoint type, then numbered. Its Message-ID names the transcript,
    /// the part and the events it carries, so the same content always has the same id (a redelivery is recognisably the
    /// same message) and different content never shares one (an archive that drops repeated ids cannot lose events when a
    /// retry cut the parts differently). Every part refers to the transcript's own Message-ID, which threads them.</summary>
    private MimeMessage PartMessage(Transcript transcript, List<Unit> units, int number, int of)
    {
        var part = new TranscriptPart(number, of, units[0].Index + 1, units[^1].Index + 1, transcript.Events.Count);
        var message = Shape(transcript with { Events = units.Select(u => u.Event).ToList() }, part);
        var root = message.MessageId ?? throw new InvalidOperationException("the endpoint type shaped a message without a Message-ID");
        var at = root.LastIndexOf('@');
        var domain = at >= 0 ? root[(at + 1)..] : "imlogger.invalid";
        message.MessageId = string.Create(CultureInfo.InvariantCulture,
            $"{TranscriptMessageBuilder.SafeToken(transcript.Id)}.part{number}.{units[0].Label}-{units[^1].Label}@{domain}");
        message.InReplyTo = root;
        message.References.Clear();
        message.References.Add(root);
        message.Subject += part.SubjectSuffix;
        message.Headers.Replace("X-ImLogger-Part", string.Create(CultureInfo.InvariantCulture, $"{number}/{of}"));
        return Wire(message);
    }

    /// <summary>Measured as it travels: CRLF line endings (SMTP's, and what an EML file holds), whatever the OS.</summary>
    private static readonly FormatOptions WireFormat = CreateWireFormat();

    private static FormatOptions CreateWireFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }

    /// <summary>The message in the transfer encodings it travels in: 7-bit, lines of at most 998 octets (RFC 5321), as
    /// MailKit would make it for a server without 8BITMIME. Done before measuring, because long lines become
    /// quoted-printable, which is larger; MailKit's own preparation then changes nothing.</summary>
    private static MimeMessage Wire(MimeMessage message)
    {
        message.Prepare(EncodingConstraint.SevenBit, 998);
        return message;
    }

    /// <summary>A message's size on the wire.</summary>
    internal static long Size(MimeMessage message)
    {
        using var measure = new MeasuringStream();
        message.WriteTo(WireFormat, measure);
        return measure.Length;
    }
}
