/*
 * The control server's verbs: one decoded request in, one encoded reply
 * frame out. Runs on the server's thread and reads RCU snapshots only.
 */
#ifndef AGP_COLLECTOR_CONTROL_VERBS_H
#define AGP_COLLECTOR_CONTROL_VERBS_H

#include <msgpack.h>

#include "common/protocol.h"

struct agp_control_server;

/*
 * Answers request and appends the reply frame (the result, or an error with
 * its code and message) to reply.
 */
void agp_control_reply(struct agp_control_server *server, const struct agp_request *request,
                       msgpack_sbuffer *reply);

#endif
