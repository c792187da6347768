import { ApplicationFailure } from '@temporalio/common';
import {
  classifyExchangeError,
  ExchangeError,
  parseExchangeMessage,
  parseRetryAfter,
  toApplicationFailure,
} from './errors';

describe('parseExchangeMessage', () => {
  it.each([
    [
      "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found on 'y'.",
      'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      "The operation couldn't be performed because object 'x' couldn't be found on 'y'.",
    ],
    [
      'ex6F9304|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The proxy address "SMTP:a@b.com" is already being used.',
      'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
      'The proxy address "SMTP:a@b.com" is already being used.',
    ],
    [
      'Write-ErrorMessage : |System.ArgumentException|bad | pipes | inside',
      'System.ArgumentException',
      'bad | pipes | inside',
    ],
  ])('splits %j', (raw, type, message) => {
    expect(parseExchangeMessage(raw)).toEqual({ exceptionType: type, message });
  });

  it('leaves other messages alone', () => {
    expect(parseExchangeMessage('plain failure')).toEqual({ message: 'plain failure' });
    expect(parseExchangeMessage('a|b|c')).toEqual({ message: 'a|b|c' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
  });
});

describe('classifyExchangeError', () => {
  it.each([
    [
      {
        rawMessage:
          "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|object 'x' couldn't be found",
      },
      'not-found',
      false,
    ],
    [{ rawMessage: 'nope', httpStatus: 404 }, 'not-found', false],
    [
      {
        rawMessage:
          '|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The proxy address "SMTP:a@b" is already being used by the proxy addresses or LegacyExchangeDN of "c".',
      },
      'duplicate-proxy-address',
      false,
    ],
    [
      {
        rawMessage:
          "|Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException|The name 'x' is already being used.",
      },
      'already-exists',
      false,
    ],
    [{ rawMessage: 'slow down', httpStatus: 429, retryAfterSeconds: 12 }, 'throttled', true],
    [{ rawMessage: 'The request was throttled. Retry after 7 seconds.' }, 'throttled', true],
    [{ rawMessage: 'busy', httpStatus: 503 }, 'transient', true],
    [{ rawMessage: 'oops', httpStatus: 500 }, 'transient', true],
    [{ rawMessage: 'no', httpStatus: 401 }, 'auth', false],
    [{ rawMessage: 'no', httpStatus: 403 }, 'auth', false],
    [{ rawMessage: 'AADSTS700027: Client assertion contains an invalid signature.' }, 'auth', false],
    [{ rawMessage: "The role assigned to application x isn't supported in this scenario" }, 'auth', false],
    [
      {
        rawMessage:
          "|System.Management.Automation.ParameterBindingException|A parameter cannot be found that matches parameter name 'X'.",
      },
      'invalid-request',
      false,
    ],
    [{ rawMessage: 'bad', httpStatus: 400 }, 'invalid-request', false],
    [{ rawMessage: 'something else' }, 'failed', false],
  ])('%j → %s', (input, kind, retryable) => {
    const e = classifyExchangeError({ ...input, cmdlet: 'Get-Mailbox', backend: 'rest' });
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e.kind).toBe(kind);
    expect(e.retryable).toBe(retryable);
    expect(e.cmdlet).toBe('Get-Mailbox');
  });

  it('keeps Retry-After only on retryable errors, and reads it from throttling messages', () => {
    expect(
      classifyExchangeError({ rawMessage: 'x', httpStatus: 429, retryAfterSeconds: 12 }).retryAfterSeconds,
    ).toBe(12);
    expect(
      classifyExchangeError({ rawMessage: 'The request was throttled. Retry after 7 seconds.' })
        .retryAfterSeconds,
    ).toBe(7);
    expect(
      classifyExchangeError({ rawMessage: 'x', httpStatus: 400, retryAfterSeconds: 12 }).retryAfterSeconds,
    ).toBeUndefined();
  });

  it('gives the Exchange exception type and message without the |Type| prefix', () => {
    const e = classifyExchangeError({
      rawMessage: '|Microsoft.Exchange.Foo.BarException|text here',
      transportType: 'HTTP400',
      httpStatus: 400,
    });
    expect(e.exceptionType).toBe('Microsoft.Exchange.Foo.BarException');
    expect(e.message).toBe('text here');
    expect(
      classifyExchangeError({ rawMessage: 'x', transportType: 'HTTP400', httpStatus: 400 }).exceptionType,
    ).toBe('HTTP400');
  });
});

describe('toApplicationFailure', () => {
  it('maps retryable errors with Retry-After to nextRetryDelay', () => {
    const f = toApplicationFailure(
      classifyExchangeError({
        rawMessage: 'slow',
        httpStatus: 429,
        retryAfterSeconds: 30,
        cmdlet: 'Get-Mailbox',
      }),
    );
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.nonRetryable).toBe(false);
    expect(f.type).toBe('ExchangeError.throttled');
    expect(f.nextRetryDelay).toBe('30s');
    expect(f.message).toBe('Get-Mailbox: slow');
  });

  it('makes the others non-retryable with what to do', () => {
    const f = toApplicationFailure(classifyExchangeError({ rawMessage: 'no', httpStatus: 403 }));
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/Exchange.ManageAsApp/);
  });
});
