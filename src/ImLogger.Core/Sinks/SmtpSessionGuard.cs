using System.Globalization;
using MailKit;

namespace ImLogger.Sinks;

/// <summary>
/// Watches one SMTP session's plain text as MailKit reads and writes it (it is MailKit's protocol logger, which sees every
/// read of at most 4 KiB right after it arrives and before MailKit keeps it, both before and after STARTTLS), and stops the
/// session once a server's reply grows past what any real server sends.
/// </summary>
/// <remarks>
/// MailKit collects a reply until its last line, however long: a 200 MiB greeting, an endless one, or one line without an
/// end took the process to many GiB. RFC 5321 4.5.3.1.5 limits a reply line to 512 octets; the bounds here are generous
/// (<see cref="MaxLineBytes"/>, <see cref="MaxReplyBytes"/>) and small. The guard also follows which reply the client waits
/// for (greeting, EHLO, ..., the end of DATA), so errors say what the server did and the sink knows when a failure leaves
/// the outcome of a message unknown (<see cref="AwaitingDataReply"/>). It never keeps what the client writes: commands are
/// reduced to their verb (AUTH's arguments and continuations are secrets), message data only to a 5-byte matcher.
/// </remarks>
internal sealed class SmtpSessionGuard : IProtocolLogger
{
    /// <summary>Longest reply line accepted (CRLF excluded): 8 times RFC 5321's 512 octets.</summary>
    public const int MaxLineBytes = 4 * 1024;

    /// <summary>Longest reply accepted, all its lines together (an EHLO reply is a few hundred bytes).</summary>
    public const int MaxReplyBytes = 64 * 1024;

    private static readonly string[] Verbs = ["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "QUIT", "NOOP"];

    private readonly Queue<string> _waiting = new();
    private int _lineBytes;
    private int _replyBytes;
    private int _replyLines;
    private readonly byte[] _lineHead = new byte[4];
    private int _lastCode;
    private bool _afterStartTls;

    private readonly byte[] _clientLine = new byte[16];
    private int _clientLineBytes;
    private bool _clientInData;
    private int _dataEndMatch;

    public SmtpSessionGuard() => _waiting.Enqueue("the greeting");

    /// <inheritdoc />
    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>What the client waits for now ("the greeting", "the reply to EHLO", ...).</summary>
    public string Waiting => _waiting.Count > 0 ? _waiting.Peek() : "nothing (between commands)";

    /// <summary>Bytes of the reply being read so far.</summary>
    public int ReplyBytesSoFar => _replyBytes;

    /// <summary>True from the end of a message's data (the final "." or BDAT LAST) until the server's reply to it: a
    /// failure now leaves the message's fate unknown (the server may have accepted it).</summary>
    public bool AwaitingDataReply { get; private set; }

    /// <summary>Messages the server accepted in this session.</summary>
    public int MessagesAccepted { get; private set; }

    /// <inheritdoc />
    public void LogConnect(Uri uri)
    {
    }

    /// <inheritdoc />
    public void LogServer(byte[] buffer, int offset, int count)
    {
        for (var i = offset; i < offset + count; i++)
        {
            var b = buffer[i];
            _replyBytes++;
            if (b == (byte)'\n')
            {
                var continued = _lineBytes >= 4 && _lineHead[3] == (byte)'-';
                _replyLines++;
                if (!continued) ReplyComplete();
                _lineBytes = 0;
                continue;
            }
            if (_lineBytes < 4) _lineHead[_lineBytes] = b;
            _lineBytes++;
            if (_lineBytes > MaxLineBytes + 1) // + 1: the CR of CRLF
                throw new SmtpBoundException(string.Create(CultureInfo.InvariantCulture,
                    $"the server sent a reply line longer than {MaxLineBytes / 1024} KiB while ImLogger waited for {Waiting} (RFC 5321 allows 512 octets); ImLogger stopped reading and closed the connection"));
            if (_replyBytes > MaxReplyBytes)
                throw new SmtpBoundException(string.Create(CultureInfo.InvariantCulture,
                    $"{ReplyName} is longer than {MaxReplyBytes / 1024} KiB ({_replyLines} lines so far); ImLogger stopped reading and closed the connection"));
        }
    }

    /// <inheritdoc />
    public void LogClient(byte[] buffer, int offset, int count)
    {
        for (var i = offset; i < offset + count; i++)
        {
            var b = buffer[i];
            if (_clientInData)
            {
                // "\r\n.\r\n" ends the data: dot-stuffing (RFC 5321 4.5.2) keeps it from appearing anywhere else.
                _dataEndMatch = b == DataEnd[_dataEndMatch] ? _dataEndMatch + 1 : b == DataEnd[0] ? 1 : 0;
                if (_dataEndMatch < DataEnd.Length) continue;
                _clientInData = false;
                _dataEndMatch = 0;
                AwaitingDataReply = true;
                _waiting.Enqueue("the reply to the end of DATA");
                continue;
            }
            if (b == (byte)'\n')
            {
                Command();
                _clientLineBytes = 0;
                continue;
            }
            if (_clientLineBytes < _clientLine.Length) _clientLine[_clientLineBytes] = b;
            _clientLineBytes++;
        }
    }

    private static readonly byte[] DataEnd = "\r\n.\r\n"u8.ToArray();

    private string ReplyName => Waiting switch
    {
        "the greeting" => "the server's greeting",
        var w => "the server's " + (w.StartsWith("the ", StringComparison.Ordinal) ? w[4..] : w),
    };

    /// <summary>A command line the client finished: remember its verb only (never its arguments).</summary>
    private void Command()
    {
        if (_lastCode == 334)
        {
            // The answer to an AUTH challenge: a secret, never looked at.
            _lastCode = 0;
            _waiting.Enqueue("the reply to AUTH");
            return;
        }
        var length = Math.Min(_clientLineBytes, _clientLine.Length);
        var head = System.Text.Encoding.ASCII.GetString(_clientLine, 0, length).TrimEnd('\r');
        var verb = head.Split(' ', 2)[0].ToUpperInvariant();
        if (!Verbs.Contains(verb, StringComparer.Ordinal)) verb = "a command";
        var name = verb switch
        {
            "MAIL" => "MAIL FROM",
            "RCPT" => "RCPT TO",
            "EHLO" when _afterStartTls => "EHLO after STARTTLS",
            _ => verb,
        };
        if (verb == "BDAT" && head.Contains(" LAST", StringComparison.OrdinalIgnoreCase))
        {
            // Chunked data (RFC 3030): the message is complete once this chunk is sent, and its reply is the final one.
            AwaitingDataReply = true;
            _waiting.Enqueue("the reply to the end of the data (BDAT LAST)");
            return;
        }
        _waiting.Enqueue("the reply to " + name);
    }

    private void ReplyComplete()
    {
        var code = _lineHead[0] is >= (byte)'0' and <= (byte)'9' && _lineHead[1] is >= (byte)'0' and <= (byte)'9' && _lineHead[2] is >= (byte)'0' and <= (byte)'9'
            ? (_lineHead[0] - '0') * 100 + (_lineHead[1] - '0') * 10 + (_lineHead[2] - '0')
            : 0;
        var was = _waiting.Count > 0 ? _waiting.Dequeue() : "";
        if (AwaitingDataReply && was.StartsWith("the reply to the end of", StringComparison.Ordinal))
        {
            AwaitingDataReply = false;
            if (code is >= 200 and < 300) MessagesAccepted++;
        }
        if (code == 354) _clientInData = true;
        if (code == 220 && was == "the reply to STARTTLS") _afterStartTls = true;
        _lastCode = code;
        _replyBytes = 0;
        _replyLines = 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}

/// <summary>The server sent more than a reply may be (<see cref="SmtpSessionGuard"/>); the session is abandoned.</summary>
internal sealed class SmtpBoundException(string message) : IOException(message);
