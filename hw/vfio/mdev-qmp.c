/*
 * Mediated devices: QMP query-mdev and HMP info mdev
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-mdev.h"
#include "qapi/qapi-types-mdev.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qobject/qdict.h"
#include "hw/vfio/mdev.h"

static MdevParentInfo *mdev_parent_info(MdevParent *parent)
{
    MdevParentClass *pc = MDEV_PARENT_GET_CLASS(parent);
    MdevParentInfo *info = g_new0(MdevParentInfo, 1);
    MdevTypeInfoList **tail = &info->types;
    MdevInstanceInfoList **itail = &info->instances;
    const MdevType *t;
    MdevDevice *mdev;

    info->id = g_strdup(object_get_canonical_path_component(OBJECT(parent)));
    info->kind = g_strdup(pc->kind);
    info->max_instances = parent->max_instances;
    for (t = pc->types; t && t->group; t++) {
        MdevTypeInfo *ti = g_new0(MdevTypeInfo, 1);

        ti->id = mdev_type_id(parent, t);
        ti->name = g_strdup(t->name);
        ti->description = g_strdup(t->description);
        ti->device_api = g_strdup(t->device_api);
        ti->q_class = t->class_id;
        ti->class_id = t->class_id;
        ti->has_max_instances = t->max_instances != 0;
        ti->max_instances = t->max_instances;
        ti->available_instances = mdev_available_instances(parent, t);
        QAPI_LIST_APPEND(tail, ti);
    }
    QTAILQ_FOREACH(mdev, &parent->instances, next) {
        MdevDeviceClass *dc = MDEV_DEVICE_GET_CLASS(mdev);
        MdevInstanceInfo *ii = g_new0(MdevInstanceInfo, 1);

        ii->uuid = g_strdup(mdev->uuid_str);
        ii->type = mdev_type_id(parent, mdev->type);
        ii->q_class = mdev->class_id;
        if (mdev->transport) {
            ii->transport = object_get_canonical_path(mdev->transport);
            /* A consumer that listens for its driver says where. */
            if (object_property_find(mdev->transport, "socket")) {
                ii->socket = object_property_get_str(mdev->transport,
                                                     "socket", NULL);
            }
        }
        if (dc->query_stats) {
            dc->query_stats(mdev, &ii->stats);
            ii->has_stats = true;
        }
        QAPI_LIST_APPEND(itail, ii);
    }
    return info;
}

static int mdev_collect_parent(Object *child, void *opaque)
{
    GPtrArray *parents = opaque;

    if (object_dynamic_cast(child, TYPE_MDEV_PARENT)) {
        g_ptr_array_add(parents, child);
    }
    return 0;
}

static gint mdev_parent_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(object_get_canonical_path_component(*(Object **)a),
                  object_get_canonical_path_component(*(Object **)b));
}

MdevParentInfoList *qmp_query_mdev(Error **errp)
{
    g_autoptr(GPtrArray) parents = g_ptr_array_new();
    MdevParentInfoList *head = NULL, **tail = &head;

    object_child_foreach(object_get_objects_root(), mdev_collect_parent,
                         parents);
    g_ptr_array_sort(parents, mdev_parent_cmp);
    for (guint i = 0; i < parents->len; i++) {
        QAPI_LIST_APPEND(tail, mdev_parent_info(parents->pdata[i]));
    }
    return head;
}

void hmp_info_mdev(Monitor *mon, const QDict *qdict)
{
    g_autoptr(MdevParentInfoList) list = qmp_query_mdev(NULL);
    MdevParentInfoList *p;

    if (!list) {
        monitor_printf(mon, "No mdev parents\n");
        return;
    }
    for (p = list; p; p = p->next) {
        MdevParentInfo *info = p->value;
        MdevTypeInfoList *t;
        MdevInstanceInfoList *i;

        monitor_printf(mon, "mdev parent '%s' (%s), max-instances %" PRId64
                       "\n", info->id, info->kind, info->max_instances);
        monitor_printf(mon, "  %-14s %-12s %-13s %9s  %s\n", "type",
                       "class", "device-api", "available", "description");
        for (t = info->types; t; t = t->next) {
            g_autofree char *cls = g_strdup_printf("%s (%" PRId64 ")",
                MdevClass_str(t->value->q_class), t->value->class_id);

            monitor_printf(mon, "  %-14s %-12s %-13s %9" PRId64 "  %s\n",
                           t->value->id, cls, t->value->device_api,
                           t->value->available_instances,
                           t->value->description);
        }
        if (!info->instances) {
            monitor_printf(mon, "  no instances\n");
        }
        for (i = info->instances; i; i = i->next) {
            MdevInstanceInfo *ii = i->value;
            MdevQueueStatsList *s;

            monitor_printf(mon, "  instance %s  type %s  class %s  "
                           "transport %s%s%s\n", ii->uuid, ii->type,
                           MdevClass_str(ii->q_class),
                           ii->transport ?: "(none)",
                           ii->socket ? "  socket " : "",
                           ii->socket ?: "");
            for (s = ii->stats; s; s = s->next) {
                MdevQueueStats *q = s->value;

                monitor_printf(mon, "    queue %" PRId64 " %-3s packets %"
                               PRIu64 " bytes %" PRIu64 " drops %" PRIu64
                               " errors %" PRIu64 " kicks %" PRIu64
                               " interrupts %" PRIu64, q->queue,
                               q->name, q->packets, q->bytes, q->drops,
                               q->errors, q->kicks, q->interrupts);
                if (q->has_read_bytes) {
                    monitor_printf(mon, " read %" PRIu64, q->read_bytes);
                }
                if (q->has_write_bytes) {
                    monitor_printf(mon, " written %" PRIu64, q->write_bytes);
                }
                monitor_printf(mon, "\n");
            }
        }
    }
}
