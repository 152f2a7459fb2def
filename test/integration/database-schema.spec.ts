import { PrismaPg } from '@prisma/adapter-pg';
import { Client, Pool } from 'pg';
import { $Enums, Prisma, PrismaClient } from '../generated/prisma/client';
import { createTestDatabase, TestDatabase } from '../support/postgres-databases';

// The SQL migrations are written by hand (no schema engine here): this checks that they match
// prisma/schema.prisma, and that Prisma 7 with the pg adapter really talks to the embedded server.
describe('prisma schema and migrations on a real PostgreSQL', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createTestDatabase('schema');
    pool = new Pool({ connectionString: db.url, max: 4 });
    prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await db?.drop();
  });

  it('has a table for every model whose columns are exactly its scalar fields', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const fieldsOf: Record<string, Record<string, string>> = {
        User: Prisma.UserScalarFieldEnum,
        Task: Prisma.TaskScalarFieldEnum,
        Message: Prisma.MessageScalarFieldEnum,
      };
      expect(Object.keys(fieldsOf).sort()).toEqual(Object.values(Prisma.ModelName).sort());
      for (const [model, fields] of Object.entries(fieldsOf)) {
        const { rows } = await client.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
          [model],
        );
        expect({ model, columns: rows.map((r) => r.column_name).sort() }).toEqual({
          model,
          columns: Object.values(fields).sort(),
        });
      }
      const enums: Record<string, Record<string, string>> = {
        TaskStatus: $Enums.TaskStatus,
        TaskPriority: $Enums.TaskPriority,
        Role: $Enums.Role,
      };
      for (const [name, values] of Object.entries(enums)) {
        const { rows } = await client.query<{ label: string }>(
          `SELECT e.enumlabel AS label FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
           WHERE t.typname = $1 ORDER BY e.enumsortorder`,
          [name],
        );
        expect({ name, labels: rows.map((r) => r.label) }).toEqual({ name, labels: Object.values(values) });
      }
    } finally {
      await client.end();
    }
  });

  it('writes and reads a user, a task with its status enum and a message with JSON content', async () => {
    const user = await prisma.user.create({ data: { email: 'ada@example.com', name: 'Ada' } });
    const task = await prisma.task.create({
      data: {
        description: 'Open the settings page',
        status: $Enums.TaskStatus.RUNNING,
        userId: user.id,
        messages: { create: [{ role: 'USER', content: [{ type: 'text', text: 'please' }] }] },
      },
      include: { messages: true, user: true },
    });
    expect(task.status).toBe('RUNNING');
    expect(task.user?.email).toBe('ada@example.com');
    expect(task.messages[0].content).toEqual([{ type: 'text', text: 'please' }]);

    const done = await prisma.task.update({
      where: { id: task.id },
      data: { status: 'COMPLETED', completedAt: new Date(), result: { ok: true } },
    });
    expect(done.status).toBe('COMPLETED');
    expect(await prisma.task.count({ where: { status: 'COMPLETED' } })).toBe(1);
  });

  it('reports a unique violation as P2002 and a missing row as P2025', async () => {
    await prisma.user.create({ data: { email: 'dup@example.com' } });
    await expect(prisma.user.create({ data: { email: 'dup@example.com' } })).rejects.toMatchObject({
      code: 'P2002',
    });
    await expect(
      prisma.user.update({ where: { email: 'nobody@example.com' }, data: {} }),
    ).rejects.toMatchObject({
      code: 'P2025',
    });
  });
});
