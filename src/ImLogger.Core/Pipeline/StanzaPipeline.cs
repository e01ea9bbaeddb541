using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Notifier;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Xmpp;
using Microsoft.Extensions.Logging;

namespace ImLogger.Pipeline;

/// <summary>
/// The receiving half of DESIGN.md's pipeline, for one batch of stanzas read from the component
/// stream: envelope decoding, classification, dedup of repeated copies, and the conversation
/// tracker, which writes the batch's events to the spool in one durable transaction.
/// </summary>
/// <remarks>Called from one loop only (stanzas keep their order).</remarks>
public sealed partial class StanzaPipeline(
    EnvelopeDecoder decoder,
    StanzaClassifier classifier,
    CopyDeduplicator dedup,
    ConversationTracker tracker,
    ArchiveNotifier notifier,
    CompliancePolicy policy,
    SeatLedger seats,
    LateRefusals lateRefusals,
    ILogger<StanzaPipeline> logger) : Ingest.IIngestStages
{
    private long _spooled;
    private readonly NicknameOnlyRooms _nicknameOnly = new(logger);

    /// <summary>Events spooled since start.</summary>
    public long SpooledCount => Interlocked.Read(ref _spooled);

    /// <inheritdoc/>
    public IReadOnlyList<ConversationEvent> Sent(IReadOnlyList<(XElement Reply, string? Failure)> replies) => notifier.Sent(replies);

    /// <summary>Decodes, classifies and de-duplicates a batch. Classification is stateful (rooms, dedup), so
    /// this runs once per stanza; only <see cref="Store"/> may be retried.</summary>
    /// <returns>The events to store, and the replies owed to stanzas addressed to the component itself
    /// (an iq must always be answered).</returns>
    public (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Replies) Classify(IReadOnlyList<XElement> stanzas)
    {
        var events = new List<ConversationEvent>();
        var replies = new List<XElement>();
        foreach (var stanza in stanzas)
        {
            // Marked by the reader: over a per-stanza limit, kept up to it (see StanzaPipeline.Limits.cs).
            var over = StanzaLimits.Read(stanza);
            if (InlineRequest.TryParse(stanza, out var problems) is { } request)
            {
                Decide(request, problems, events, replies, over);
                continue;
            }
            if (CheckSignIn(stanza, events, replies)) continue; // approved clients at sign-in (StanzaPipeline.SignIn.cs)
            if (notifier.Bounced(stanza) is { } bounce) // the server sent a notice back (Notifier/ArchiveNotifier.Outcomes.cs)
            {
                logger.LogWarning("Archive notice to {To} bounced by the server ({Condition}); the transcript says so", bounce.To, bounce.Reason);
                events.Add(bounce);
                continue;
            }
            var (envelope, rejection, reason) = decoder.Decode(stanza);
            if (envelope == null && policy.Clients?.ObserveVersionReply(stanza) == true) continue;
            if (envelope == null)
            {
                if (rejection == EnvelopeRejection.NotACopy && ComponentReplies.For(stanza) is { } reply) replies.Add(reply);
                if (over != null && rejection != EnvelopeRejection.OwnStanza)
                    logger.LogWarning("A stanza over a per-stanza limit was not archived ({What}): {Reason}", DescribeOverLimit(stanza, over), reason);
                else if (rejection is EnvelopeRejection.UntrustedRelay or EnvelopeRejection.Malformed)
                    logger.LogWarning("Stanza not archived: {Reason}", reason);
                else if (logger.IsEnabled(LogLevel.Debug))
                    logger.LogDebug("Stanza not archived: {Reason}", reason);
                continue;
            }
            Keep(ClassifyOne(envelope, over, TapLevelsAbove), events);
        }
        // Notices are sent after the batch is stored (the caller sends replies after Store), so the
        // transcript never lacks a notice that went out; a crash in between loses the notice, not the record.
        _nicknameOnly.Observe(events); // NicknameOnlyRooms.cs: WARN once per room whose occupants cannot be named
        var (withNotices, notices) = notifier.Observe(events);
        replies.AddRange(notices);
        return (withNotices, replies);
    }

    /// <summary>Classifies one stanza (its events before dedup; the policy needs them all); one over a per-stanza limit
    /// (<paramref name="over"/>, with <paramref name="levelsAbove"/> elements around it on the wire) is recorded as such.</summary>
    private IReadOnlyList<ConversationEvent> ClassifyOne(TapEnvelope envelope, StanzaOverLimit? over = null, int levelsAbove = 0)
    {
        // The sender is the one party the server vouches for: a user of an organization logged by default takes a
        // seat (or is named over the limit) here, before the classifier asks who is logged.
        ImLogger.Telemetry.ImLoggerMetrics.Stanzas.Add(1);
        var sender = (string?)envelope.Stanza.Attribute("from") is { Length: > 0 } from ? JidText.Bare(from) : null;
        if (sender != null) seats.ObserveSender(sender);
        if (sender != null && IsSignOut(envelope.Stanza))
            notifier.SignedOut(sender);
        else if (sender != null)
            notifier.Seen(sender); // a session of theirs is online: a sign-out just before was a reconnect
        // The coverage pass (Classifier/CoverageCheck.cs): text no event carries is kept as "more content". A stanza over a
        // limit is kept up to it and said to be so; it has no whole text to check.
        var result = over == null ? CoverageCheck.Complete(classifier, envelope, classifier.Classify(envelope), Sinks.TranscriptMessageBuilder.RenderLine)
            : classifier.ClassifyOverLimit(envelope, over, levelsAbove);
        // Checked first: the arguments (and the list of kinds) would be built for every stanza even with Debug off.
        if (!logger.IsEnabled(LogLevel.Debug)) { }
        else if (result.Events.Count == 0)
            logger.LogDebug("{Kind} {Id} not archived: {Reason}", envelope.Stanza.Name.LocalName, (string?)envelope.Stanza.Attribute("id"), result.Reason);
        else
            logger.LogDebug("{Kind} {Id}: {Events} ({Reason})", envelope.Stanza.Name.LocalName, (string?)envelope.Stanza.Attribute("id"),
                string.Join(", ", result.Events.Select(e => e.Kind)), result.Reason);
        policy.Observe(result);
        return result.Events;
    }

    /// <summary>Adds to <paramref name="events"/> each classified event that is not a repeated copy; the repeats go to
    /// <paramref name="repeats"/> when the caller needs them (inline mode: StanzaPipeline.Repeats.cs), else nowhere.</summary>
    private void Keep(IEnumerable<ConversationEvent> classified, List<ConversationEvent> events, List<ConversationEvent>? repeats = null)
    {
        foreach (var e in classified)
        {
            if (dedup.IsRepeat(e))
            {
                if (logger.IsEnabled(LogLevel.Debug))
                    logger.LogDebug("{Kind} {StanzaId} in {Key}: repeated copy, archived once", e.Kind, e.StanzaId, e.ConversationKey);
                repeats?.Add(e);
            }
            else
                events.Add(e);
        }
    }

    /// <summary>Inline mode: classify and decide each held stanza. A refused stanza is archived as a
    /// <see cref="EventKind.Refused"/> event; the verdicts go out only after the batch is stored.</summary>
    private void Decide(InlineRequest request, IReadOnlyList<(string ItemId, string Problem)> problems, List<ConversationEvent> events, List<XElement> replies,
        StanzaOverLimit? over)
    {
        var relay = (string?)request.Iq.Attribute("from") ?? "";
        // Trust only the server: held stanzas, gap and refusal reports count only from a configured host, which no
        // client can send from. Anyone can address an iq to the component; checked before anything is read from it.
        if (!decoder.IsServerHost(relay))
        {
            logger.LogWarning("Ignored an inline verdict request from {Sender}, which is not a configured server host: only the server's inline module " +
                              "sends them; its {Items} item(s), {Gaps} gap report(s) and {Refusals} refusal report(s) had no effect",
                relay.Length == 0 ? "(no from)" : relay, request.Items.Count + problems.Count, request.Gaps.Count, request.Refusals.Count);
            replies.Add(ComponentReplies.Error(request.Iq, "auth", "forbidden", "Only the XMPP server's ImLogger module may send this."));
            return;
        }
        var verdicts = new List<(string, InlineVerdict)>();
        var ownReplies = replies.Count; // this request's verdict goes before its own notices, after the batch's earlier verdicts
        var cut = CutItems(request, over, relay);
        foreach (var (itemId, problem) in problems)
        {
            if (cut.Contains(itemId))
            {
                verdicts.Add((itemId, OverLimitRefusal.Unreadable(over!)));
                continue;
            }
            logger.LogWarning("Refusing a malformed held stanza from {Relay}: {Problem}", relay, problem);
            verdicts.Add((itemId, InlineVerdict.Deny(RefusalRule.Malformed, "bad-request", "ImLogger could not read this stanza.")));
        }
        foreach (var gap in request.Gaps)
            logger.LogWarning("GAP: {Count} stanza(s) of {User} passed UNLOGGED between {Since} and {Until} while ImLogger was unreachable (fail-open mode)",
                gap.Count, gap.User, gap.Since, gap.Until);
        foreach (var refusal in request.Refusals)
        {
            var refused = lateRefusals.Refused(refusal);
            if (refused.Count > 0)
                logger.LogWarning("The server refused {Count} held stanza(s) of request {Request} ({Reason}) that ImLogger archived after the verdicts were due; " +
                                  "{Events} archived event(s) are now marked NOT DELIVERED in their transcripts", refusal.Count, refusal.RequestId, refusal.Reason, refused.Count);
            else
                logger.LogDebug("The server refused request {Request} ({Reason}): none of it was archived", refusal.RequestId, refusal.Reason);
            events.AddRange(refused);
        }
        var allowed = new List<ConversationEvent>();
        foreach (var item in request.Items)
        {
            var envelope = decoder.Held(item.Stanza, relay) with { OccupantJid = item.OccupantJid };
            if (cut.Contains(item.Id))
            {
                RefuseOverLimit(item, envelope, over!, verdicts, events, replies);
                continue;
            }
            var classified = ClassifyOne(envelope);
            if (item.Direction == InlineDirection.Out && item.Stanza.Name.LocalName == "presence"
                && policy.Clients?.ObservePresence(item.Stanza, (string?)item.Stanza.Attribute("from") ?? item.User) is { } query)
                replies.Add(query);
            var verdict = policy.Decide(item, classified);
            // A user who sent this and holds no seat (logged by default, over the limit): the adapter may stop holding them.
            if (verdict.Allowed && item.Direction == InlineDirection.Out && !seats.IsLogged(item.User)) verdict = InlineVerdict.AllowUnlogged;
            if (!verdict.Allowed && verdict.Rule == RefusalRule.UnapprovedClient && policy.Clients?.QueryIfUnknown((string?)item.Stanza.Attribute("from") ?? item.User) is { } ask)
                replies.Add(ask);
            verdicts.Add((item.Id, verdict));
            if (verdict.Allowed)
            {
                var before = events.Count;
                var repeats = new List<ConversationEvent>();
                Keep(classified, events, repeats);
                allowed.AddRange(events.Skip(before));
                AllowedAgain(repeats, allowed); // StanzaPipeline.Repeats.cs
                continue;
            }
            logger.LogInformation("Refused {Direction} {Kind} of {User} ({Rule}{Detail})", item.Direction, item.Stanza.Name.LocalName, item.User, verdict.Rule?.Name(),
                verdict.Detail is { } detail ? ": " + detail : "");
            events.Add(RefusedEvent(envelope, item, verdict, classified));
            if (verdict.NoticeToLoggedUser is { } notice)
                replies.Add(RefusalNotice(item, notice));
        }
        lateRefusals.Remember((string?)request.Iq.Attribute("id") ?? "", allowed);
        replies.Insert(ownReplies, InlineVerdict.Response(request, verdicts));
        ImLogger.Telemetry.PipelineMetrics.Count(verdicts);
    }

    private XElement RefusalNotice(InlineItem item, string notice) => Outbound.OutboundStanzas.RefusalNotice(decoder.ComponentJid, item.User, notice);

    private static ConversationEvent RefusedEvent(TapEnvelope envelope, InlineItem item, InlineVerdict verdict, IReadOnlyList<ConversationEvent> classified)
    {
        var stanza = envelope.Stanza;
        var from = (string?)stanza.Attribute("from") ?? item.User;
        var to = (string?)stanza.Attribute("to") ?? item.User;
        var attempt = classified.FirstOrDefault(e => e.Kind == EventKind.Encrypted) ?? classified.FirstOrDefault();
        var groupJoin = stanza.Name.LocalName == "presence";
        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        return new ConversationEvent
        {
            Id = Guid.NewGuid().ToString("N"),
            ReceivedUtc = envelope.ReceivedUtc,
            Kind = EventKind.Refused,
            Direction = item.Direction == InlineDirection.Out ? Direction.Outgoing : Direction.Incoming,
            ConversationType = attempt?.ConversationType ?? (groupJoin ? ConversationType.GroupChat : ConversationType.OneToOne),
            ConversationKey = attempt?.ConversationKey ?? (groupJoin ? toBare : JidText.PairKey(fromBare, toBare)),
            From = from,
            To = to,
            SenderBareJid = fromBare,
            Text = attempt?.EncryptionScheme is { } scheme ? $"{scheme} encrypted message" : groupJoin ? $"join {toBare}" : attempt?.Text ?? stanza.Name.LocalName,
            StanzaId = (string?)stanza.Attribute("id"),
            StanzaType = (string?)stanza.Attribute("type"),
            Rule = verdict.Rule,
            Reason = verdict.Text + (verdict.Detail is { } detail ? $" ({detail})" : ""),
            LoggedUsers = [item.User],
            RawXml = StanzaXml.Compact(stanza),
        };
    }

    /// <summary>An unavailable presence broadcast (no to): that session signed out.</summary>
    private static bool IsSignOut(XElement stanza) =>
        stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable"
        && stanza.Attribute("to") == null && stanza.Attribute("from") != null;

    /// <summary>Writes events to their transcripts in the spool; durable when it returns.</summary>
    /// <returns>Ids of transcripts closed on the way (their conversation had gone idle).</returns>
    /// <exception cref="Exception">The spool could not write (disk full, I/O error): call again with the same events.</exception>
    public IReadOnlyList<string> Store(IReadOnlyList<ConversationEvent> events)
    {
        var closed = tracker.UnitOfWork is { } unit ? StoreInOneWrite(events, unit) : tracker.Append(events); // StanzaPipeline.UnitOfWork.cs
        lateRefusals.Flush(); // what this batch's verdicts allowed, durable before they go out (usually with the events)
        if (tracker.UnitOfWork is null) KeepContinuity(); // StanzaPipeline.Continuity.cs
        if (events.Count > 0)
        {
            Interlocked.Add(ref _spooled, events.Count);
            logger.LogDebug("Spooled {Count} events ({Total} since start)", events.Count, SpooledCount);
        }
        return closed;
    }
}
