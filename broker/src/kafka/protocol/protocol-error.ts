/**
 * Raised for any malformed wire data (or an unencodable value). The field path is assembled while
 * the decoder unwinds, so the happy path never pays for building it.
 */
export class ProtocolError extends Error {
  /** What went wrong at the innermost level, without context or path. */
  readonly detail: string;
  /** Field path such as "topicData[0].partitionData[1].records" ("" at the top level). */
  path = '';
  /** The message being read or written, such as "ProduceRequest v9". */
  context = '';

  constructor(detail: string) {
    super(detail);
    this.name = 'ProtocolError';
    this.detail = detail;
  }

  /** Records that the failure happened inside field `name`. */
  inField(name: string): this {
    this.path = this.path === '' ? name : this.path.charCodeAt(0) === 91 /* [ */ ? name + this.path : `${name}.${this.path}`;
    this.refresh();
    return this;
  }

  /** Records that the failure happened inside array element `index`. */
  inElement(index: number): this {
    this.path = this.path === '' || this.path.charCodeAt(0) === 91 ? `[${index}]${this.path}` : `[${index}].${this.path}`;
    this.refresh();
    return this;
  }

  inContext(context: string): this {
    this.context = context;
    this.refresh();
    return this;
  }

  private refresh(): void {
    let m = this.detail;
    if (this.path !== '') m = `${this.path}: ${m}`;
    if (this.context !== '') m = `${this.context}: ${m}`;
    this.message = m;
  }
}
