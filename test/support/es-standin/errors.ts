import { JsonObject } from './json';

/**
 * An Elasticsearch-shaped failure: rendered as
 * `{ error: { root_cause: [cause], ...cause }, status }`.
 */
export class EsError extends Error {
  constructor (
    readonly status: number,
    readonly type: string,
    readonly reason: string,
    readonly extra: JsonObject = {},
  ) {
    super(`[${type}] ${reason}`);
  }

  toCause (): JsonObject {
    return { type: this.type, reason: this.reason, ...this.extra };
  }

  toBody (): JsonObject {
    const cause = this.toCause();
    return { error: { root_cause: [cause], ...cause }, status: this.status };
  }
}

export const STANDIN_PREFIX = 'es-standin does not support';

export function unsupported (what: string): EsError {
  return new EsError(400, 'illegal_argument_exception', `${STANDIN_PREFIX} ${what}`);
}

export function illegalArgument (reason: string): EsError {
  return new EsError(400, 'illegal_argument_exception', reason);
}

export function parsingException (reason: string): EsError {
  return new EsError(400, 'parsing_exception', reason);
}

export function unsupportedQuery (what: string): EsError {
  return new EsError(400, 'parsing_exception', `${STANDIN_PREFIX} ${what}`);
}

export function queryShardException (reason: string, index: string): EsError {
  return new EsError(400, 'query_shard_exception', reason, { index });
}

export function actionValidation (reason: string): EsError {
  return new EsError(400, 'action_request_validation_exception', `Validation Failed: 1: ${reason};`);
}

export function mapperParsing (reason: string): EsError {
  return new EsError(400, 'mapper_parsing_exception', reason);
}

export function indexNotFound (name: string): EsError {
  return new EsError(404, 'index_not_found_exception', `no such index [${name}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': name,
    index_uuid: '_na_',
    index: name,
  });
}

export function indexAlreadyExists (name: string, uuid: string): EsError {
  return new EsError(400, 'resource_already_exists_exception', `index [${name}/${uuid}] already exists`, {
    index_uuid: uuid,
    index: name,
  });
}

export function invalidIndexName (name: string, why: string): EsError {
  return new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], ${why}`, {
    index_uuid: '_na_',
    index: name,
  });
}

export function indexClosed (name: string, uuid: string): EsError {
  return new EsError(400, 'index_closed_exception', 'closed', { index_uuid: uuid, index: name });
}

export function versionConflict (index: string, uuid: string, id: string, detail: string): EsError {
  return new EsError(409, 'version_conflict_engine_exception', `[${id}]: version conflict, ${detail}`, {
    index_uuid: uuid,
    shard: '0',
    index,
  });
}

export function documentMissing (index: string, uuid: string, id: string): EsError {
  return new EsError(404, 'document_missing_exception', `[_doc][${id}]: document missing`, {
    index_uuid: uuid,
    shard: '0',
    index,
  });
}

export function searchContextMissing (id: string): EsError {
  return new EsError(404, 'search_context_missing_exception', `No search context found for id [${id}]`);
}

export function strictDynamic (field: string, within: string): EsError {
  return new EsError(
    400,
    'strict_dynamic_mapping_exception',
    `mapping set to strict, dynamic introduction of [${field}] within [${within}] is not allowed`);
}

export function jsonParse (reason: string): EsError {
  return new EsError(400, 'json_parse_exception', reason);
}

/** Anything thrown that is not an EsError is a stand-in bug: surface it as a 500. */
export function toEsError (error: unknown): EsError {
  if (error instanceof EsError) {
    return error;
  }
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  return new EsError(500, 'es_standin_internal_error', message);
}

